#include "index_tasks.h"

#include <algorithm>
#include <random>

#include "apply_operation.h"
#include "inputs.h"
#include "item_embedder.h"

namespace vstore::serve {
namespace {

// Unwinds a task the server abandons; never leaves the worker.
struct Abandoned {};

std::string new_task_id() {
    static std::mutex mutex;
    static std::mt19937_64 random(std::random_device{}());
    std::lock_guard lock(mutex);
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string id(16, '0');
    uint64_t bits = random();
    for (char& c : id) {
        c = kDigits[bits & 15];
        bits >>= 4;
    }
    return id;
}

size_t count_lines(const std::string& text) {
    return static_cast<size_t>(std::count(text.begin(), text.end(), '\n')) +
           (!text.empty() && text.back() != '\n');
}

std::string commit_name(const std::string& domain, const std::string& commit) {
    return "commit '" + commit + "' of domain '" + domain + "'";
}

}  // namespace

IndexTasks::IndexTasks(Store& store, const IndexTaskLimits& limits, embed::EmbedCommand* embedder)
    : store_(store), limits_(limits), embedder_(embedder), worker_([this] { run(); }) {}

IndexTasks::~IndexTasks() {
    shutdown();
}

std::string IndexTasks::submit(IndexRequest&& request) {
    const DomainInfo domain = store_.domain(request.domain);  // kNotFound names the domain
    std::lock_guard lock(mutex_);
    if (stopping_)
        throw Error::exhausted("the server is shutting down and takes no index task");
    auto queued = [&](const std::string& commit) {
        if (running_ && running_->domain == domain.name && running_->commit == commit)
            return true;
        return std::any_of(queue_.begin(), queue_.end(), [&](const Task& t) {
            return t.request.domain == domain.name && t.request.commit == commit;
        });
    };
    auto exists = [&](const std::string& commit) {
        try {
            store_.commit(domain.name, commit);
            return true;
        } catch (const Error& e) {
            if (e.code() != ErrorCode::kNotFound)
                throw;
            return false;
        }
    };
    if (queued(request.commit))
        throw Error::conflict(commit_name(domain.name, request.commit) +
                              " is being indexed by an earlier task");
    if (exists(request.commit))
        throw Error::conflict(commit_name(domain.name, request.commit) + " exists");
    if (request.previous && !exists(*request.previous) && !queued(*request.previous))
        throw Error::not_found("previous " + commit_name(domain.name, *request.previous) +
                               " neither exists nor is queued to be indexed");
    if (request.assign_source && !exists(*request.assign_source) && !queued(*request.assign_source))
        throw Error::not_found("source " + commit_name(domain.name, *request.assign_source) +
                               " neither exists nor is queued to be indexed");
    if (queue_.size() >= limits_.max_queued)
        throw Error::exhausted(std::to_string(queue_.size()) +
                               " index tasks are queued already, the most the server takes "
                               "(--max-queued-tasks); try again when one has finished");
    Task task{new_task_id(), std::move(request)};
    statuses_[task.id] = TaskStatus{};
    ++counts_.queued;
    std::string id = task.id;
    queue_.push_back(std::move(task));
    wake_.notify_all();
    return id;
}

std::optional<TaskStatus> IndexTasks::status(const std::string& task_id) const {
    std::lock_guard lock(mutex_);
    const auto it = statuses_.find(task_id);
    if (it == statuses_.end())
        return std::nullopt;
    return it->second;
}

TaskStatus IndexTasks::wait(const std::string& task_id) const {
    std::unique_lock lock(mutex_);
    for (;;) {
        const auto it = statuses_.find(task_id);
        if (it == statuses_.end())
            throw Error::not_found("no task '" + task_id + "'");
        if (it->second.state == TaskStatus::State::kComplete ||
            it->second.state == TaskStatus::State::kError)
            return it->second;
        ended_.wait(lock);
    }
}

TaskCounts IndexTasks::counts() const {
    std::lock_guard lock(mutex_);
    return counts_;
}

void IndexTasks::shutdown() {
    {
        std::lock_guard lock(mutex_);
        if (stopping_ && !worker_.joinable())
            return;
        stopping_ = true;
        wake_.notify_all();
    }
    if (worker_.joinable())
        worker_.join();
}

void IndexTasks::set_status(const std::string& id, TaskStatus status) {
    std::lock_guard lock(mutex_);
    set_status_locked(id, std::move(status));
}

void IndexTasks::set_status_locked(const std::string& id, TaskStatus status) {
    const bool ended =
        status.state == TaskStatus::State::kComplete || status.state == TaskStatus::State::kError;
    statuses_[id] = std::move(status);
    if (!ended)
        return;
    ended_.notify_all();
    finished_.push_back(id);
    while (finished_.size() > limits_.finished_kept) {
        statuses_.erase(finished_.front());
        finished_.pop_front();
    }
}

void IndexTasks::set_percentage(const std::string& id, double percentage) {
    std::lock_guard lock(mutex_);
    statuses_[id].percentage = percentage;
}

void IndexTasks::run() {
    for (;;) {
        Task task;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
            if (stopping_) {
                for (const Task& dropped : queue_) {
                    TaskStatus s;
                    s.state = TaskStatus::State::kError;
                    s.code = ErrorCode::kExhausted;
                    s.message = "the server stopped before the task ran";
                    set_status_locked(dropped.id, std::move(s));
                }
                counts_.failed += queue_.size();
                counts_.queued -= queue_.size();
                queue_.clear();
                return;
            }
            task = std::move(queue_.front());
            queue_.pop_front();
            running_.emplace();
            running_->domain = task.request.domain;
            running_->commit = task.request.commit;
            --counts_.queued;
            ++counts_.running;
            statuses_[task.id].state = TaskStatus::State::kRunning;
        }
        TaskStatus end;
        try {
            build(task);
            end.state = TaskStatus::State::kComplete;
            end.percentage = 100;
            end.commit = store_.commit(task.request.domain, task.request.commit);
        } catch (const Abandoned&) {
            end.state = TaskStatus::State::kError;
            end.code = ErrorCode::kExhausted;
            end.message = "the server stopped before " +
                          commit_name(task.request.domain, task.request.commit) +
                          " was made; nothing was committed";
        } catch (const Error& e) {
            end.state = TaskStatus::State::kError;
            end.code = e.code();
            end.message = e.message();
        } catch (const std::exception& e) {
            end.state = TaskStatus::State::kError;
            end.code = ErrorCode::kIO;
            end.message = e.what();
        }
        const bool complete = end.state == TaskStatus::State::kComplete;
        set_status(task.id, std::move(end));
        std::lock_guard lock(mutex_);
        running_.reset();
        --counts_.running;
        ++(complete ? counts_.completed : counts_.failed);
    }
}

void IndexTasks::build(Task& task) {
    const IndexRequest& r = task.request;
    if (r.assign_source) {
        store_.assign(r.domain, *r.assign_source, r.commit);
        return;
    }
    auto builder = store_.begin_commit(r.domain, r.commit, r.previous);
    const std::string name = "request body";
    const size_t lines = std::max<size_t>(1, count_lines(r.body));
    uint64_t held = 0;
    // Reading and adding the operations is 90 % of the task; finish() (the graph) the rest.
    auto step = [&](const std::string& where, size_t line, const std::string& id, size_t floats) {
        {
            std::lock_guard lock(mutex_);
            if (stopping_)
                throw Abandoned{};
        }
        held += id.size() + floats * sizeof(float);
        if (held > limits_.max_memory_bytes)
            throw Error::exhausted(where + ": the task holds more than " +
                                   std::to_string(limits_.max_memory_bytes) +
                                   " bytes of vectors and ids (--max-index-memory)");
        if (line % 1024 == 0)
            set_percentage(task.id, 90.0 * static_cast<double>(line) / static_cast<double>(lines));
    };
    // Items reach the commit once their texts are embedded, so that the memory bound counts
    // the vectors the embedder made.
    if (r.snapshot) {
        builder.begin_snapshot();
        size_t items = 0;
        embed::SnapshotEmbedder put(embedder_, [&](cli::SnapshotItem&& item) {
            step(item.where, ++items, item.id, item.vector.size());
            cli::apply_snapshot_item(builder, item);
        });
        cli::read_snapshot_text(r.body, name,
                                [&](cli::SnapshotItem&& item) { put.add(std::move(item)); });
        put.finish();
    } else {
        embed::OperationEmbedder ops(embedder_, name, [&](cli::Operation&& op) {
            const std::string where = name + ":" + std::to_string(op.line);
            step(where, op.line, op.id, op.vector.size());
            cli::apply_operation(builder, op, where);
        });
        cli::read_operations_text(r.body, name,
                                  [&](cli::Operation&& op) { ops.add(std::move(op)); });
        ops.finish();
    }
    task.request.body = std::string();  // the body's memory goes before the graph is built
    set_percentage(task.id, 90);
    builder.finish();
}

}  // namespace vstore::serve
