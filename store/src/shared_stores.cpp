// Store::open_shared: one Store per directory per process, shared by every caller that names
// it. The registry holds the stores weakly; the last holder's release closes the store.
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "vstore/store.h"

namespace vstore {

namespace {

// Never destroyed: a holder may release its store during static destruction at exit.
// Recursive, since a store released while its opener holds the lock closes under it.
std::recursive_mutex& shared_stores_mutex() {
    static auto* mutex = new std::recursive_mutex;
    return *mutex;
}

// Invariant: an entry is erased, under the mutex, by the deleter that closes its store, in
// the same critical section. So an entry whose store has expired is one whose close is
// waiting for the mutex, and the directory is not yet free to open again.
std::map<std::string, std::weak_ptr<Store>>& shared_stores() {
    static auto* stores = new std::map<std::string, std::weak_ptr<Store>>;
    return *stores;
}

std::string canonical_or_empty(const std::string& dir) {
    std::error_code ec;
    const auto canonical = std::filesystem::canonical(dir, ec);
    return ec ? std::string() : canonical.string();
}

}  // namespace

std::shared_ptr<Store> Store::open_shared(const std::string& dir, StoreOptions options) {
    for (;;) {
        std::unique_lock lock(shared_stores_mutex());
        auto& stores = shared_stores();
        const std::string key = canonical_or_empty(dir);
        const auto it = key.empty() ? stores.end() : stores.find(key);
        if (it == stores.end()) {
            // Held while opening, so that two callers opening one directory at once do not
            // both miss it (the second open() would be a conflict). A path that does not
            // resolve gets open()'s own error.
            std::unique_ptr<Store> opened = open(dir, options);
            const std::string opened_key = canonical_or_empty(opened->dir());
            std::shared_ptr<Store> store(opened.release(), [opened_key](Store* closing) {
                std::lock_guard closing_lock(shared_stores_mutex());
                shared_stores().erase(opened_key);
                delete closing;
            });
            stores[opened_key] = store;
            return store;
        }
        if (auto store = it->second.lock())
            return store;
        lock.unlock();
        std::this_thread::yield();  // its close is waiting for the mutex; let it finish
    }
}

}  // namespace vstore
