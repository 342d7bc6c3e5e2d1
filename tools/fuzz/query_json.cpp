// JSON queries of the command line (tools/inputs.h): a query file of one array or an array of
// arrays (read_query_file of a .json file), and the --vector option's text (parse_vector_json).
#include "fuzz_support.h"
#include "inputs.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static vstore::fuzz::ScratchFile file(".json");
    const std::string& path = file.write(data, size);
    vstore::fuzz::expect_success_or_error([&] { vstore::cli::read_query_file(path); });
    const std::string text(reinterpret_cast<const char*>(data), size);
    vstore::fuzz::expect_success_or_error([&] { vstore::cli::parse_vector_json(text, "--vector"); });
    return 0;
}
