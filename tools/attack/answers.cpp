// What a reader sees of a commit, for comparing before and after an attack.
#include "attack.h"

namespace attack {

std::vector<float> random_vectors(uint64_t count, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    std::vector<float> v(count * kDim);
    for (auto& x : v)
        x = u(rng);
    return v;
}

std::string fingerprint(const vstore::Snapshot& s) {
    std::string f = std::to_string(s.size());
    f += " ids:";
    const auto ids = s.ids();
    for (const auto& id : ids) {
        f += id;
        f += ',';
    }
    // Every 50th stored vector, whole.
    for (size_t i = 0; i < ids.size(); i += 50) {
        f += " v:";
        for (float x : s.vector(ids[i])) {
            f += std::to_string(x);
            f += ',';
        }
    }
    const auto queries = random_vectors(4, 7);
    for (size_t q = 0; q < 4; ++q) {
        const std::span<const float> query(queries.data() + q * kDim, kDim);
        f += " exact:";
        for (const auto& h : s.search_exact(query, 10)) {
            f += h.id + "=" + std::to_string(h.distance);
            f += ',';
        }
        f += " graph:";
        for (const auto& h : s.search(query, 10, 64)) {
            f += h.id + "=" + std::to_string(h.distance);
            f += ',';
        }
    }
    return f;
}

}  // namespace attack
