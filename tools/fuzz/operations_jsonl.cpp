// JSON Lines of the command line (tools/inputs.h): the same bytes read as operations
// (read_operations) and as a snapshot (read_snapshot_file of a .jsonl file).
#include "fuzz_support.h"
#include "inputs.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static vstore::fuzz::ScratchFile file(".jsonl");
    const std::string& path = file.write(data, size);
    vstore::fuzz::expect_success_or_error(
        [&] { vstore::cli::read_operations(path, [](vstore::cli::Operation&&) {}); });
    vstore::fuzz::expect_success_or_error(
        [&] { vstore::cli::read_snapshot_file(path, [](vstore::cli::SnapshotItem&&) {}); });
    return 0;
}
