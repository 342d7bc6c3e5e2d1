// The index tasks of `vstore serve`: POST /index queues one and answers at once with its id;
// one worker thread builds the commits, one at a time, in the order they came; GET /check
// reads a task's status. A task's commit is made whole or not at all.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "embed_command.h"
#include "vstore/store.h"

namespace vstore::serve {

// A commit to make: from operations or a snapshot in `body`, or (`assign_source` set) as
// Store::assign of an existing commit. Assignments queue with the index tasks, so that one
// can name a commit an earlier task is still building.
struct IndexRequest {
    std::string domain, commit;
    std::optional<std::string> previous;  // the parent; none: a root commit
    bool snapshot = false;                // the body is the whole set, not operations
    std::string body;                     // JSON Lines
    std::optional<std::string> assign_source;
};

struct IndexTaskLimits {
    size_t max_queued = 8;                          // tasks waiting behind the running one
    uint64_t max_memory_bytes = uint64_t(1) << 30;  // vectors and ids one task may hold
    size_t finished_kept = 10'000;                  // statuses of ended tasks kept for /check
};

struct TaskStatus {
    enum class State { kQueued, kRunning, kComplete, kError };
    State state = State::kQueued;
    double percentage = 0;                         // of kQueued and kRunning
    std::optional<CommitInfo> commit;              // of kComplete
    ErrorCode code = ErrorCode::kInvalidArgument;  // of kError
    std::string message;                           // of kError
};

struct TaskCounts {
    size_t queued = 0, running = 0, completed = 0, failed = 0;
};

class IndexTasks {
  public:
    // `embedder` (null: none) turns the texts of operations and snapshot items into vectors.
    IndexTasks(Store& store, const IndexTaskLimits& limits, embed::EmbedCommand* embedder);
    ~IndexTasks();  // as shutdown(): the running task is abandoned, never half committed
    IndexTasks(const IndexTasks&) = delete;
    IndexTasks& operator=(const IndexTasks&) = delete;

    // Queues a task and returns its id. Checks at once what it can: Error(kNotFound) for an
    // unknown domain, or a previous commit that neither exists nor is queued before it;
    // Error(kConflict) for a commit that exists or is queued (and for an assignment, kNotFound
    // for a source that neither exists nor is queued); Error(kExhausted) when
    // max_queued tasks wait already, or after shutdown(). The body's contents are checked as
    // the task runs: its errors are the task's.
    std::string submit(IndexRequest&& request);
    // nullopt for an id no task had (or one whose status has been forgotten).
    std::optional<TaskStatus> status(const std::string& task_id) const;
    // Blocks until the task has ended, and returns its status.
    TaskStatus wait(const std::string& task_id) const;
    TaskCounts counts() const;

    // Takes no more tasks, drops the queued ones (each ends in an error), and abandons the
    // running one at its next operation (before finish(), it leaves nothing; within
    // finish(), the commit completes). Returns when the worker has stopped.
    void shutdown();

  private:
    struct Task {
        std::string id;
        IndexRequest request;
    };
    void run();
    void build(Task& task);
    void set_status(const std::string& id, TaskStatus status);
    // The same with mutex_ held. An ended status wakes wait() and joins the finished ones, of
    // which only the newest limits_.finished_kept are kept.
    void set_status_locked(const std::string& id, TaskStatus status);
    void set_percentage(const std::string& id, double percentage);

    Store& store_;
    IndexTaskLimits limits_;
    embed::EmbedCommand* embedder_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    mutable std::condition_variable ended_;
    std::deque<Task> queue_;
    std::optional<IndexRequest> running_;  // its domain and commit, for submit's checks
    std::map<std::string, TaskStatus> statuses_;
    std::deque<std::string> finished_;  // ids of ended tasks, oldest first
    TaskCounts counts_;
    bool stopping_ = false;
    std::thread worker_;
};

}  // namespace vstore::serve
