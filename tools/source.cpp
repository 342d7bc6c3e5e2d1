#include "source.h"

#include <filesystem>

namespace vstore::cli {

Source Source::open(const std::string& path, StoreOptions options,
                    const PackOpenOptions& pack_options) {
    Source s;
    s.path_ = path;
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec) && std::filesystem::exists(path + "/catalog", ec)) {
        s.store_ = Store::open(path, options);
    } else if (std::filesystem::exists(path, ec) && !Pack::looks_like_pack(path)) {
        throw Error::invalid_argument("'" + path + "' is neither a store nor a pack");
    } else {
        s.pack_ = Pack::open(path, options, pack_options);
    }
    return s;
}

std::string Source::domain(const std::optional<std::string>& requested) const {
    if (pack_) {
        const auto& name = pack_->config().domain.name;
        if (requested && *requested != name) {
            throw Error::not_found("pack '" + path_ + "' holds domain '" + name + "', not '" +
                                   *requested + "'");
        }
        return name;
    }
    if (requested)
        return store_->domain(*requested).name;
    const auto all = store_->domains();
    if (all.size() == 1)
        return all[0].name;
    throw UsageError("store '" + path_ + "' has " + std::to_string(all.size()) +
                     " domains; say which with --domain");
}

std::string Source::commit(const std::string& domain,
                           const std::optional<std::string>& requested) const {
    if (pack_) {
        const auto& id = pack_->config().commit.commit;
        if (requested && *requested != id) {
            throw Error::not_found("pack '" + path_ + "' holds commit '" + id + "', not '" +
                                   *requested + "'");
        }
        return id;
    }
    if (!requested)
        throw UsageError("say which commit with --commit");
    return store_->commit(domain, *requested).commit;
}

std::shared_ptr<const Snapshot> Source::open_commit(
    const std::optional<std::string>& domain, const std::optional<std::string>& commit) const {
    const std::string d = this->domain(domain);
    const std::string c = this->commit(d, commit);
    return pack_ ? pack_->snapshot() : store_->open_commit(d, c);
}

std::vector<DomainInfo> Source::domains() const {
    if (pack_)
        return {pack_->snapshot()->domain()};
    return store_->domains();
}

std::vector<CommitInfo> Source::commits(const std::string& domain) const {
    if (pack_)
        return {pack_->snapshot()->info()};
    return store_->commits(domain);
}

std::vector<CommitInfo> Source::log(const std::string& domain, const std::string& commit) const {
    if (pack_)
        return {pack_->snapshot()->info()};
    return store_->log(domain, commit);
}

}  // namespace vstore::cli
