// The chain of small commits that the chain and lifecycle sections build on the Fashion-MNIST
// base: the plan of each commit's operations, the commits' names, and one commit applied.
#include <cmath>
#include <cstdio>
#include <random>
#include <stdexcept>

#include "bench.h"

namespace bench {

ChainPlan chain_plan(const std::string& section, uint64_t base_rows, const Vectors& new_vectors,
                     uint64_t reserved_rows, size_t commits, double change_share) {
    ChainPlan plan;
    // Each commit changes change_share of the base, a third each by inserts, deletes and
    // replaces.
    plan.per_kind =
        std::max<uint64_t>(1, uint64_t(std::llround(double(base_rows) * change_share / 3)));
    const uint64_t per_kind = plan.per_kind;
    const uint64_t new_needed = 2 * per_kind * commits;
    if (new_needed + reserved_rows > new_vectors.rows)
        throw std::runtime_error(section + ": " + with_commas(new_needed) +
                                 " new vectors and the queries need more than the " +
                                 with_commas(new_vectors.rows) + " test images");
    plan.steps.resize(commits + 1);
    std::mt19937_64 rng(20250101);
    std::vector<uint64_t> live(base_rows);
    for (uint64_t i = 0; i < base_rows; ++i)
        live[i] = i;
    uint64_t next_row = 0, next_label = base_rows;
    for (size_t s = 1; s <= commits; ++s) {
        ChainStep& step = plan.steps[s];
        // Deletes and replaces: distinct live labels, drawn to the end of `live`.
        for (uint64_t j = 0; j < 2 * per_kind; ++j) {
            std::uniform_int_distribution<uint64_t> pick(0, live.size() - 1 - j);
            std::swap(live[pick(rng)], live[live.size() - 1 - j]);
        }
        const size_t first = live.size() - 2 * per_kind;
        for (uint64_t j = 0; j < per_kind; ++j)
            step.removes.push_back(live[first + j]);
        for (uint64_t j = 0; j < per_kind; ++j)
            step.replaces.push_back({live[first + per_kind + j], new_vectors.row(next_row++)});
        live.erase(live.begin() + first, live.begin() + first + per_kind);
        for (uint64_t j = 0; j < per_kind; ++j) {
            step.inserts.push_back({next_label, new_vectors.row(next_row++)});
            live.push_back(next_label++);
        }
    }
    return plan;
}

std::string chain_commit_name(size_t step) {
    if (step == 0)
        return "base";
    char name[32];
    std::snprintf(name, sizeof name, "c%03llu", static_cast<unsigned long long>(step));
    return name;
}

vstore::CommitInfo apply_chain_step(vstore::Store& store, const std::string& commit,
                                    const std::string& parent, const ChainStep& step,
                                    uint32_t dim) {
    auto builder = store.begin_commit(kDomain, commit, parent);
    for (uint64_t label : step.removes)
        builder.remove(std::to_string(label));
    for (const Item& item : step.replaces)
        builder.replace(std::to_string(item.label), {item.data, dim});
    for (const Item& item : step.inserts)
        builder.insert(std::to_string(item.label), {item.data, dim});
    return builder.finish();
}

}  // namespace bench
