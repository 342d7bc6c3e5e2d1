// vstore-fuzz-seeds SOURCE_ROOT OUT: writes the seed corpus of every harness, OUT/<harness>/,
// from real files: a small store made through the public API (two domains, a full commit and
// deltas over it, a long id, tombstones), packs of its commits, its catalog's entries as
// LMDB holds them, the version 1 store of tests/data, slices of Fashion-MNIST, and the inputs
// of the command line as its documentation shows them.
#include <lmdb.h>
#include <zlib.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "catalog_input.h"
#include "vstore/format/catalog_records.h"
#include "vstore/format/error.h"
#include "vstore/format/graph_file.h"
#include "vstore/format/graph_file_v2.h"
#include "vstore/format/idx_file.h"
#include "vstore/format/vector_file_format.h"
#include "vstore/pack.h"
#include "vstore/store.h"

namespace fs = std::filesystem;
namespace format = vstore::format;

namespace {

fs::path g_out;

void write_seed(const std::string& harness, const std::string& name, const std::string& bytes) {
    const fs::path dir = g_out / harness;
    fs::create_directories(dir);
    std::ofstream(dir / name, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
}

std::string read_file(const fs::path& path, size_t most = SIZE_MAX) {
    std::ifstream in(path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (bytes.size() > most)
        bytes.resize(most);
    return bytes;
}

std::span<const uint8_t> span_of(const std::string& s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// A seed name from a file name: '%' and '@' kept out of the corpus's names.
std::string seed_name(const std::string& prefix, const fs::path& file) {
    std::string name = prefix + file.filename().string();
    for (char& c : name) {
        if (c == '%' || c == '@')
            c = '_';
    }
    return name;
}

// A graph file goes to the harness of its version and kind.
void add_graph_file(const std::string& prefix, const fs::path& file) {
    const std::string bytes = read_file(file);
    const uint32_t version = format::graph_file_version(span_of(bytes), file.string());
    if (version == format::kGraphFormatV1) {
        write_seed("graph_v1", seed_name(prefix, file), bytes);
        return;
    }
    const format::GraphHeader h = format::parse_graph_header(span_of(bytes), file.string());
    write_seed(h.kind == format::GraphKind::kFull ? "graph_full" : "graph_delta",
               seed_name(prefix, file), bytes);
}

void add_vector_file(const std::string& prefix, const fs::path& file) {
    write_seed("vector_header", seed_name(prefix, file), read_file(file, format::kHeaderPageBytes));
}

// Every entry of every database of an LMDB catalog, as the catalog harness reads them; at most
// `per_database` of each (the first ones, and every id longer than a short id).
void add_catalog(const std::string& prefix, const fs::path& catalog, size_t per_database) {
    MDB_env* env = nullptr;
    mdb_env_create(&env);
    mdb_env_set_maxdbs(env, 16);
    if (mdb_env_open(env, catalog.c_str(), MDB_NOSUBDIR | MDB_RDONLY | MDB_NOLOCK, 0644) != 0) {
        std::cerr << "vstore-fuzz-seeds: cannot open the catalog " << catalog << "\n";
        std::exit(1);
    }
    MDB_txn* txn = nullptr;
    mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn);
    for (size_t db = 0; db < vstore::fuzz::kCatalogDatabases.size(); ++db) {
        MDB_dbi dbi = 0;
        if (mdb_dbi_open(txn, vstore::fuzz::kCatalogDatabases[db], 0, &dbi) != 0)
            continue;
        MDB_cursor* cursor = nullptr;
        mdb_cursor_open(txn, dbi, &cursor);
        MDB_val key, value;
        size_t n = 0;
        for (int rc = mdb_cursor_get(cursor, &key, &value, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT), ++n) {
            const std::string_view k(static_cast<const char*>(key.mv_data), key.mv_size);
            const std::string_view v(static_cast<const char*>(value.mv_data), value.mv_size);
            if (n >= per_database && k.size() < format::kShortIdMax)
                continue;
            write_seed("catalog_records",
                       prefix + vstore::fuzz::kCatalogDatabases[db] + "-" + std::to_string(n),
                       vstore::fuzz::catalog_input(uint8_t(db), k, v));
        }
        mdb_cursor_close(cursor);
    }
    mdb_txn_abort(txn);
    mdb_env_close(env);
}

std::vector<float> random_vector(std::mt19937_64& rng, uint32_t dimension) {
    std::uniform_real_distribution<float> component(-1, 1);
    std::vector<float> v(dimension);
    for (float& x : v)
        x = component(rng);
    return v;
}

// A store with a full commit and two deltas on it in one domain, one commit in another, and a
// pack of each domain's last commit.
void add_store(const fs::path& work) {
    const fs::path dir = work / "store";
    std::mt19937_64 rng(2026);
    {
        vstore::StoreOptions options;
        options.threads = 1;
        options.graph_policy.max_delta_share = 100;  // deltas even over so small a graph
        auto store = vstore::Store::create(dir.string(), options);
        store->create_domain("admin/star_wars",
                             {.dimension = 3, .metric = vstore::Metric::kL2, .m = 4,
                              .ef_construction = 20});
        store->create_domain("d2", {.dimension = 8, .metric = vstore::Metric::kCosine, .m = 2,
                                    .ef_construction = 10});
        const std::string long_id(300, 'x');
        auto c1 = store->begin_commit("admin/star_wars", "c1", std::nullopt);
        for (int i = 0; i < 60; ++i)
            c1.insert("People/" + std::to_string(i), random_vector(rng, 3));
        c1.insert(long_id, random_vector(rng, 3));
        c1.finish();
        auto c2 = store->begin_commit("admin/star_wars", "c2", "c1");
        for (int i = 0; i < 6; ++i)
            c2.remove("People/" + std::to_string(i));
        for (int i = 6; i < 10; ++i)
            c2.replace("People/" + std::to_string(i), random_vector(rng, 3));
        for (int i = 60; i < 64; ++i)
            c2.insert("People/" + std::to_string(i), random_vector(rng, 3));
        c2.finish();
        auto c3 = store->begin_commit("admin/star_wars", "c3", "c2");
        c3.remove(long_id);
        c3.insert("Planets/1", random_vector(rng, 3));
        c3.finish();
        auto d1 = store->begin_commit("d2", "only", std::nullopt);
        for (int i = 0; i < 3; ++i)
            d1.insert(std::to_string(i), random_vector(rng, 8));
        d1.finish();
        vstore::Pack::write(*store, "admin/star_wars", "c3", (work / "pack-c3").string());
        vstore::Pack::write(*store, "d2", "only", (work / "pack-d2").string());
    }
    for (const auto& entry : fs::directory_iterator(dir)) {
        const fs::path& p = entry.path();
        if (p.extension() == ".hnsw")
            add_graph_file("store-", p);
        else if (p.extension() == ".vecs")
            add_vector_file("store-", p);
    }
    add_catalog("store-", dir / "catalog", 12);
    for (const char* pack : {"pack-c3", "pack-d2"}) {
        const fs::path p = work / pack;
        const std::string name = std::string(pack) + "-";
        add_graph_file(name, p / vstore::kPackGraphName);
        add_vector_file(name, p / vstore::kPackVectorsName);
        write_seed("id_file", name + "ids", read_file(p / vstore::kPackIdsName));
        write_seed("pack_config", name + "config", read_file(p / vstore::kPackConfigName));
    }
}

// The store of tests/data written by the last vstore of graph format 1.
void add_v1_store(const fs::path& root) {
    const fs::path dir = root / "tests/data/v1-store";
    for (const auto& entry : fs::directory_iterator(dir)) {
        const fs::path& p = entry.path();
        if (p.extension() == ".hnsw")
            add_graph_file("v1-store-", p);
        else if (p.extension() == ".vecs")
            add_vector_file("v1-store-", p);
    }
    add_catalog("v1-store-", dir / "catalog", 12);
}

// Version 1 files of one node and of none, stored raw (the v1 store's are compressed).
void add_small_v1_graphs() {
    format::GraphFileData g;
    g.domain = "admin/star_wars";
    g.commit = "c2";
    g.parent = "c1";
    g.metric = format::Metric::kCosine;
    g.dimension = 3;
    const auto empty = format::encode_graph_file(g);
    write_seed("graph_v1", "encoded-empty", std::string(empty.begin(), empty.end()));
    g.vector_count = 1;
    g.entry_point = 0;
    g.max_level = 0;
    g.nodes.push_back({.vector_index = 0, .key = 0x0123456789ABCDEF, .level = 0,
                       .tombstone = false, .links = {{}}});
    const auto one = format::encode_graph_file(g);
    write_seed("graph_v1", "encoded-one-node", std::string(one.begin(), one.end()));
}

// The first rows of a Fashion-MNIST file with its count cut to them: byte 0 of an idx_file
// input says plain (0) or gzip (1), byte 1 is max_rows.
void add_idx(const std::string& name, const std::string& path, size_t header, size_t row_bytes,
             uint32_t rows) {
    gzFile f = gzopen(path.c_str(), "rb");
    if (f == nullptr)
        return;  // without dataset-fashion-mnist, the synthetic seed below stands alone
    std::string bytes(header + rows * row_bytes, '\0');
    const int got = gzread(f, bytes.data(), unsigned(bytes.size()));
    gzclose(f);
    if (got != int(bytes.size()))
        return;
    for (int i = 0; i < 4; ++i)
        bytes[4 + i] = char((rows >> (8 * (3 - i))) & 0xff);  // the count, big-endian
    write_seed("idx_file", name + "-plain", std::string("\0\0", 2) + bytes);
    write_seed("idx_file", name + "-gzip", std::string("\1\0", 2) + bytes);
    write_seed("idx_file", name + "-gzip-max1", std::string("\1\1", 2) + bytes);
}

void add_idx_seeds() {
    add_idx("t10k-images-3", format::fashion_mnist_test_path(), 16, 784, 3);
    const std::string labels = std::string(format::kFashionMnistDir) + "/t10k-labels-idx1-ubyte.gz";
    add_idx("t10k-labels-5", labels, 8, 1, 5);
    // Two 2x2 images.
    const std::string tiny("\0\0\x08\x03\0\0\0\x02\0\0\0\x02\0\0\0\x02" "\x01\x02\x03\x04\x05\x06\x07\x08", 24);
    write_seed("idx_file", "tiny-plain", std::string("\0\0", 2) + tiny);
}

std::string npy(const std::string& dict, const std::vector<float>& values, int major = 1) {
    std::string header = dict;
    const size_t prefix = major == 1 ? 10 : 12;
    while ((prefix + header.size() + 1) % 64 != 0)
        header += ' ';
    header += '\n';
    std::string out = "\x93NUMPY";
    out += char(major);
    out += '\0';
    const size_t n = header.size();
    out += char(n & 0xff);
    out += char((n >> 8) & 0xff);
    if (major != 1) {
        out += char((n >> 16) & 0xff);
        out += char((n >> 24) & 0xff);
    }
    out += header;
    out.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
    return out;
}

std::string fvecs(uint32_t dimension, const std::vector<float>& values) {
    std::string out;
    for (size_t row = 0; row * dimension < values.size(); ++row) {
        out.append(reinterpret_cast<const char*>(&dimension), 4);
        out.append(reinterpret_cast<const char*>(values.data() + row * dimension), dimension * 4);
    }
    return out;
}

void add_input_seeds() {
    write_seed("operations_jsonl", "operations",
               "{\"id\": \"People/1\", \"op\": \"Inserted\", \"vector\": [1, 0, 0.5]}\n"
               "{\"id\": 2, \"op\": \"insert\", \"vector\": [0, 1, -2.5e-3]}\n"
               "\n"
               "{\"id\": \"People/1\", \"op\": \"Replaced\", \"vector\": [0.9, 0.1, 0]}\r\n"
               "{\"id\": \"People/2\", \"op\": \"Deleted\"}\n"
               "{\"id\": \"People/3\", \"op\": \"changed\", \"vector\": [3e38, 0, 1], \"x\": {}}\n");
    write_seed("operations_jsonl", "snapshot",
               "\xEF\xBB\xBF{\"id\": \"a\", \"vector\": [0.25, 0.5]}\n"
               "{\"id\": -7, \"vector\": [1e-3, 2]}\n");
    const std::vector<float> values = {0.5f, -1, 2, 0, 1e-3f, 3, 4, 5, -6, 7, 8, 9};
    write_seed("snapshot_npy", "3x4",
               npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", values));
    write_seed("snapshot_npy", "2x6-v2",
               npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 6), }", values, 2));
    write_seed("snapshot_npy", "1x12-v3",
               npy("{\"descr\": \"<f4\", \"shape\": (1, 12), \"fortran_order\": False}", values, 3));
    write_seed("snapshot_fvecs", "3x4", fvecs(4, values));
    write_seed("snapshot_fvecs", "12x1", fvecs(1, values));
    write_seed("query_json", "one", "[0.1, 0.2, -3e-5]");
    write_seed("query_json", "two", "[[1, 2, 3], [4.5, 5e2, 6]]\n");
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::cerr << "usage: vstore-fuzz-seeds SOURCE_ROOT OUT\n";
        return 2;
    }
    const fs::path root = argv[1];
    g_out = argv[2];
    const fs::path work = g_out / ".work";
    try {
        fs::remove_all(work);
        fs::create_directories(work);
        add_store(work);
        add_v1_store(root);
        add_small_v1_graphs();
        add_idx_seeds();
        add_input_seeds();
        fs::remove_all(work);
    } catch (const std::exception& e) {
        std::cerr << "vstore-fuzz-seeds: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
