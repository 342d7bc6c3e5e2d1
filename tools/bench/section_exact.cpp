// Section "exact": brute-force search one query at a time and in batches, against FAISS
// IndexFlatL2 and against the bound that memory bandwidth sets.
#include <sstream>

#include "bench.h"
#include "peers.h"

namespace bench {

namespace {

struct ExactRow {
    std::string method;
    unsigned threads = 1;
    uint64_t queries = 0;
    double qps = 0;
    double recall = 0;
    double bound_qps = 0;  // the bandwidth bound at this thread count
};

double mean_recall(const GroundTruth& truth, const std::vector<std::vector<Hit>>& answers) {
    double sum = 0;
    for (size_t q = 0; q < answers.size(); ++q)
        sum += recall_of(truth, q, answers[q]);
    return answers.empty() ? 0 : sum / answers.size();
}

}  // namespace

void section_exact(SectionContext& context) {
    const Config& config = context.config;
    BuiltPair& pair = context.fixtures.fashion();
    const Vectors& queries = *pair.queries;
    const uint32_t dim = pair.base->dim;
    const uint64_t single = std::min(config.exact_single_queries, queries.rows);
    const uint64_t batch = std::min(config.exact_batch, queries.rows);
    const uint64_t bytes_per_query = pair.base->rows * uint64_t(dim) * sizeof(float);
    const GroundTruth truth =
        exact_ground_truth(config, pair.name + " exact", items_of(*pair.base), dim, Metric::kL2,
                           queries, std::max(single, batch), 10);

    progress("exact", "memory bandwidth");
    const double bandwidth_1 = read_bandwidth(config.bandwidth_buffer_bytes, 1);
    const double bandwidth_n = read_bandwidth(config.bandwidth_buffer_bytes, config.threads);
    const double bound_1 = bandwidth_1 / bytes_per_query;
    const double bound_n = bandwidth_n / bytes_per_query;

    std::vector<ExactRow> rows;
    const vstore::Snapshot& snapshot = *pair.snapshot;
    auto vstore_exact = [&](uint64_t q, std::vector<Hit>& out) {
        const auto hits = snapshot.search_exact({queries.row(q), dim}, 10);
        out.clear();
        for (const auto& h : hits)
            out.push_back({std::stoull(h.id), h.distance});
    };
    {
        progress("exact", "vstore search_exact, one at a time, " + with_commas(single));
        std::vector<std::vector<Hit>> answers(single);
        vstore_exact(0, answers[0]);  // warm-up
        const auto start = Clock::now();
        for (uint64_t q = 0; q < single; ++q)
            vstore_exact(q, answers[q]);
        rows.push_back({"vstore `search_exact`, one at a time", 1, single,
                        single / seconds_since(start), mean_recall(truth, answers), bound_1});
    }
    {
        progress("exact", "vstore search_exact, batch of " + with_commas(batch) + " on " +
                              std::to_string(config.threads) + " threads");
        std::vector<std::vector<Hit>> answers(batch);
        const auto start = Clock::now();
        parallel_for(batch, config.threads, [&](uint64_t q) { vstore_exact(q, answers[q]); });
        rows.push_back({"vstore `search_exact`, batch (queries spread over threads)",
                        config.threads, batch, batch / seconds_since(start),
                        mean_recall(truth, answers), bound_n});
    }
    if (faiss_available()) {
        const FaissFlat flat(items_of(*pair.base), dim);
        const uint64_t faiss_single = std::min<uint64_t>(single, 100);
        {
            progress("exact", "FAISS IndexFlatL2, n = 1, " + with_commas(faiss_single));
            faiss_set_threads(1);
            std::vector<std::vector<Hit>> answers(faiss_single), one;
            flat.search(1, queries.row(0), 10, one);  // warm-up
            const auto start = Clock::now();
            for (uint64_t q = 0; q < faiss_single; ++q) {
                flat.search(1, queries.row(q), 10, one);
                answers[q] = one[0];
            }
            rows.push_back({"FAISS `IndexFlatL2`, n = 1", 1, faiss_single,
                            faiss_single / seconds_since(start), mean_recall(truth, answers),
                            bound_1});
        }
        for (unsigned threads : {1u, config.threads}) {
            progress("exact", "FAISS IndexFlatL2, n = " + with_commas(batch) + " on " +
                                  std::to_string(threads) + " thread(s)");
            faiss_set_threads(static_cast<int>(threads));
            std::vector<std::vector<Hit>> answers;
            const auto start = Clock::now();
            flat.search(batch, queries.row(0), 10, answers);
            rows.push_back({"FAISS `IndexFlatL2`, n = " + with_commas(batch), threads, batch,
                            batch / seconds_since(start), mean_recall(truth, answers),
                            threads == 1 ? bound_1 : bound_n});
            if (threads == config.threads)
                break;
        }
        faiss_set_threads(1);
    }

    std::ostringstream out;
    out << "## Exact search (" << pair.name << ")\n\n"
        << "Brute force over all " << with_commas(pair.base->rows)
        << " vectors, k = 10. vstore: `Snapshot::search_exact`, one query at a time on one "
           "thread, and a batch as a loop over the queries spread over "
        << config.threads
        << " threads (vstore has no batch call). FAISS, when installed: `IndexFlatL2::search` with "
           "n "
           "= 1, and "
           "with n = "
        << with_commas(batch)
        << " (BLAS; the OpenMP thread count as shown). The bound: a scan must read "
        << bytes_text(bytes_per_query) << " of vectors per query; a streaming read of a "
        << bytes_text(config.bandwidth_buffer_bytes) << " buffer reaches "
        << fixed(bandwidth_1 / 1e9, 2) << " GB/s on one thread and " << fixed(bandwidth_n / 1e9, 2)
        << " GB/s on " << config.threads << ", so one query at a time cannot beat "
        << fixed(bound_1, 1) << " queries/s (" << fixed(bound_n, 1)
        << " on all threads). A batch can beat it: it reads each vector once for many "
           "queries.\n\n";
    if (!faiss_available())
        out << "FAISS is not installed (Debian `libfaiss-dev`; `tools/run-bench` installs it): "
               "no FAISS rows.\n\n";
    out << "| method | threads | queries | QPS | recall@10 | share of the bandwidth bound |\n"
        << "|---|---:|---:|---:|---:|---:|\n";
    for (const auto& r : rows) {
        out << "| " << r.method << " | " << r.threads << " | " << with_commas(r.queries) << " | "
            << fixed(r.qps, 1) << " | " << fixed(r.recall, 4) << " | "
            << fixed(r.qps / r.bound_qps * 100, 0) << " % |\n";
    }
    if (rows.size() >= 3) {
        out << "\nvstore / FAISS one at a time: " << ratio(rows[0].qps, rows[2].qps)
            << "; vstore batch / FAISS batch on " << rows.back().threads
            << " threads: " << ratio(rows[1].qps, rows.back().qps) << ".\n";
    }
    context.report.add_section(out.str());
    const double share = rows[0].qps / bound_1;
    context.report.add_target({"exact search one at a time ≥ 70 % of the memory-bandwidth bound",
                               fixed(rows[0].qps, 1) + " vs " + fixed(bound_1, 1) +
                                   " queries/s: " + fixed(share * 100, 0) + " %",
                               share >= 0.7,
                               fixed((share - 0.7) * 100, 0) + " points vs the 70 % bar",
                               "`search_exact` walks the graph's nodes, and each distance goes "
                               "through hnswlib's function pointer and the node's record to "
                               "the vector, with a heap update per node. Closing it: a scan of "
                               "the mapped vector file page after page in file order with an "
                               "inlined SIMD kernel, skipping vectors that are not live."});
}

}  // namespace bench
