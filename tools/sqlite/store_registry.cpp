#include "store_registry.h"

#include <cerrno>
#include <filesystem>

namespace vstore::sql {

namespace {

struct Entry {
    std::unique_ptr<Source> source;
    size_t users = 0;
};

// Never destroyed: a connection may close after static destructors have run at exit, and its
// release must still find the registry.
std::mutex& registry_mutex() {
    static auto* mutex = new std::mutex;
    return *mutex;
}

std::map<std::string, Entry>& registry() {
    static auto* entries = new std::map<std::string, Entry>;
    return *entries;
}

// Under the registry's mutex, so that a source closing and the same path opening again never
// overlap.
void release_source(const std::string& path) {
    std::lock_guard lock(registry_mutex());
    auto& entries = registry();
    const auto it = entries.find(path);
    if (it == entries.end() || --it->second.users != 0)
        return;
    const std::unique_ptr<Source> closing = std::move(it->second.source);
    entries.erase(it);
}

std::string canonical_path(const std::string& path) {
    if (path.empty())
        throw Error::invalid_argument("the store path is empty");
    std::error_code ec;
    const auto canonical = std::filesystem::canonical(path, ec);
    if (ec) {
        if (ec.value() == ENOENT || ec.value() == ENOTDIR)
            throw Error::not_found("'" + path + "': no such store or pack");
        throw Error::io("'" + path + "': cannot resolve the path", ec.value());
    }
    return canonical.string();
}

}  // namespace

std::shared_ptr<Source> acquire_source(const std::string& path) {
    Source* source = nullptr;
    {
        std::lock_guard lock(registry_mutex());
        auto& entries = registry();
        auto it = entries.find(path);
        if (it == entries.end())
            it = entries.emplace(path, Entry{Source::open(path), 0}).first;
        ++it->second.users;
        source = it->second.source.get();
    }
    // Outside the lock: should the control block's allocation throw, the deleter runs at once.
    return std::shared_ptr<Source>(source, [path](Source*) { release_source(path); });
}

std::shared_ptr<Source> ConnectionSources::source(const std::string& path) {
    const std::string canonical = canonical_path(path);
    std::lock_guard lock(mutex_);
    auto it = by_path_.find(canonical);
    if (it == by_path_.end())
        it = by_path_.emplace(canonical, acquire_source(canonical)).first;
    return it->second;
}

}  // namespace vstore::sql
