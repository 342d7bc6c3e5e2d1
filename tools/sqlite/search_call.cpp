#include "search_call.h"

#include "arguments.h"
#include "json_output.h"
#include "records_json.h"

namespace vstore::sql {

std::vector<SearchHit> search(ConnectionSources& sources, std::string_view function,
                              const SearchArguments& arguments) {
    const std::string path = Argument{arguments.store, function, "store"}.text();
    const auto domain = Argument{arguments.domain, function, "domain"}.optional_text();
    const auto commit = Argument{arguments.commit, function, "commit"}.optional_text();
    const auto embedding = Argument{arguments.embedding, function, "embedding"}.embedding();
    const size_t k = Argument{arguments.k, function, "k"}.k();
    std::optional<std::string> allowed;
    if (arguments.allowed_ids != nullptr)
        allowed = Argument{arguments.allowed_ids, function, "allowed_ids"}.allowed_ids_text();
    const auto snapshot = sources.source(path)->snapshot(domain, commit);
    if (!allowed)
        return snapshot->search(embedding, k);
    return snapshot->search(embedding, k, 0,
                            sources.filters().filter(snapshot, *allowed, function));
}

std::string ids_json(const std::vector<SearchHit>& hits) {
    cli::json ids = cli::json::array();
    for (const auto& hit : hits)
        ids.push_back(hit.id);
    return cli::json_text(ids);
}

std::string ids_and_distances_json(const std::vector<SearchHit>& hits) {
    cli::json pairs = cli::json::array();
    for (const auto& hit : hits)
        pairs.push_back(cli::json::array({hit.id, distance_value(hit.distance)}));
    return cli::json_text(pairs);
}

double distance_value(float distance) {
    return cli::json_distance(distance);
}

}  // namespace vstore::sql
