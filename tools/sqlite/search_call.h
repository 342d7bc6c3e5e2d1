// A search as vstore_search, vstore_search_with_scores and vstore_knn take it: (store, domain,
// commit, embedding, k [, allowed_ids]), answered by Snapshot::search (exact for small sets,
// through the graph otherwise; restricted to the allowed ids when they are given), as
// `vstore search [--only-ids FILE]` answers it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "sqlite_api.h"
#include "store_registry.h"

namespace vstore::sql {

struct SearchArguments {
    sqlite3_value* store;
    sqlite3_value* domain;  // NULL: the source's only domain
    sqlite3_value* commit;  // NULL: the domain's newest commit
    sqlite3_value* embedding;
    sqlite3_value* k;
    sqlite3_value* allowed_ids = nullptr;  // absent or NULL: every live item
};

std::vector<SearchHit> search(ConnectionSources& sources, std::string_view function,
                              const SearchArguments& arguments);

// ["id", ...], as faiss_search writes it.
std::string ids_json(const std::vector<SearchHit>& hits);
// [["id", distance], ...], as faiss_search_with_scores writes it.
std::string ids_and_distances_json(const std::vector<SearchHit>& hits);

// A distance as the extension returns it, in SQL or JSON: the double nearest the float's
// shortest decimal, as the command line's JSON writes it (a distance that overflowed, only
// possible in a store written before the norm limit, is the largest float).
double distance_value(float distance);

}  // namespace vstore::sql
