#include "source.h"

#include <filesystem>

#include "vstore/lifecycle.h"

namespace vstore::sql {

std::unique_ptr<Source> Source::open(const std::string& path) {
    auto source = std::make_unique<Source>();
    source->path_ = path;
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec) && std::filesystem::exists(path + "/catalog", ec))
        source->store_ = Store::open_shared(path);
    else if (Pack::looks_like_pack(path))
        source->pack_ = Pack::open(path);
    else
        throw Error::invalid_argument("'" + path + "' is neither a store nor a pack");
    return source;
}

std::string Source::domain(const std::optional<std::string>& requested) const {
    if (pack_) {
        const std::string& name = pack_->config().domain.name;
        if (requested && *requested != name)
            throw Error::not_found("pack '" + path_ + "' holds domain '" + name + "', not '" +
                                   *requested + "'");
        return name;
    }
    if (requested)
        return store_->domain(*requested).name;
    const auto all = store_->domains();
    if (all.size() == 1)
        return all[0].name;
    throw Error::invalid_argument("store '" + path_ + "' has " + std::to_string(all.size()) +
                                  " domains; name one (domain is NULL)");
}

std::shared_ptr<const Snapshot> Source::snapshot(const std::optional<std::string>& domain,
                                                 const std::optional<std::string>& commit) const {
    const std::string name = this->domain(domain);
    if (pack_) {
        const std::string& id = pack_->config().commit.commit;
        if (commit && *commit != id)
            throw Error::not_found("pack '" + path_ + "' holds commit '" + id + "', not '" +
                                   *commit + "'");
        return pack_->snapshot();
    }
    if (commit)
        return store_->open_commit(name, *commit);
    auto commits = store_->commits(name);
    if (commits.empty())
        throw Error::not_found("domain '" + name + "' of store '" + path_ + "' has no commits");
    sort_newest_first(commits);
    return store_->open_commit(name, commits.front().commit);
}

Store& Source::writable_store() const {
    if (pack_)
        throw Error::invalid_argument("'" + path_ +
                                      "' is a pack, not a store: a pack holds one commit and "
                                      "is never written to");
    return *store_;
}

}  // namespace vstore::sql
