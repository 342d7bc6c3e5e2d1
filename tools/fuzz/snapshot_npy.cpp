// .npy snapshots of the command line (tools/inputs.h): read_snapshot_file, and the same file
// as a query file (read_query_file).
#include "fuzz_support.h"
#include "inputs.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static vstore::fuzz::ScratchFile file(".npy");
    const std::string& path = file.write(data, size);
    vstore::fuzz::expect_success_or_error(
        [&] { vstore::cli::read_snapshot_file(path, [](vstore::cli::SnapshotItem&&) {}); });
    vstore::fuzz::expect_success_or_error([&] { vstore::cli::read_query_file(path); });
    return 0;
}
