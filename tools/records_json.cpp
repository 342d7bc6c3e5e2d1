#include "records_json.h"

#include "json_output.h"
#include "text.h"

namespace vstore::cli {

json commit_json(const CommitInfo& c) {
    return json{{"domain", c.domain},
                {"commit", c.commit},
                {"parent", c.parent ? json(*c.parent) : json(nullptr)},
                {"parent_dropped", c.parent_dropped},
                {"created", iso_time(c.created_unix_ms)},
                {"inserted", c.inserted},
                {"deleted", c.deleted},
                {"replaced", c.replaced},
                {"live", c.live_count},
                {"tombstones", c.tombstone_count},
                {"compacted", c.compacted},
                {"graph_file", c.graph_file},
                {"graph_bytes", c.graph_bytes},
                {"graph_owner", c.graph_owner ? json(*c.graph_owner) : json(nullptr)},
                {"graph_owner_dropped", c.owner_dropped}};
}

json domain_json(const DomainInfo& d) {
    return json{{"name", d.name},
                {"dimension", d.dimension},
                {"metric", format::metric_name(d.metric)},
                {"m", d.m},
                {"ef_construction", d.ef_construction},
                {"created", iso_time(d.created_unix_ms)}};
}

json hits_json(const std::vector<SearchHit>& hits) {
    json a = json::array();
    for (const auto& h : hits)
        a.push_back({{"id", h.id}, {"distance", json_distance(h.distance)}});
    return a;
}

json hits_json(const std::vector<MultiHit>& hits) {
    json a = json::array();
    for (const auto& h : hits) {
        a.push_back({{"domain", h.domain},
                     {"commit", h.commit},
                     {"id", h.id},
                     {"distance", json_distance(h.distance)}});
    }
    return a;
}

json duplicate_json(const DuplicatePair& p) {
    return json{{"a", p.a}, {"b", p.b}, {"distance", json_distance(p.distance)}};
}

}  // namespace vstore::cli
