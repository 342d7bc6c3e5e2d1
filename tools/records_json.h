// The JSON of vstore's records, as the command line's --json output and `vstore serve` write
// them: one shape for a commit, a domain, a list of hits and a duplicate pair wherever they
// appear.
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "vstore/search_many.h"
#include "vstore/store.h"

namespace vstore::cli {

// Keys in the order they are written: {"id", "distance"} as the stream format has them.
using json = nlohmann::ordered_json;

json commit_json(const CommitInfo& c);
json domain_json(const DomainInfo& d);
json hits_json(const std::vector<SearchHit>& hits);  // [{"id": ..., "distance": ...}, ...]
// [{"domain": ..., "commit": ..., "id": ..., "distance": ...}, ...]: hits over several domains.
json hits_json(const std::vector<MultiHit>& hits);
json duplicate_json(const DuplicatePair& p);  // {"a": ..., "b": ..., "distance": ...}

}  // namespace vstore::cli
