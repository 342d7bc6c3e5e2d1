// JSON queries of the command line (tools/inputs.h): a query file of one array or an array of
// arrays (read_query_file of a .json file), and the --vector option's text (parse_vector_json).
// Also differential: whatever the fast scanner of number arrays (tools/number_arrays.h) accepts,
// nlohmann::json must parse to the same floats, bit for bit, in the same nesting.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>

#include "fuzz_support.h"
#include "inputs.h"
#include "number_arrays.h"

namespace {

[[noreturn]] void mismatch(const char* what) {
    std::fprintf(stderr, "scan_number_arrays disagrees with nlohmann::json: %s\n", what);
    std::abort();
}

std::vector<float> slow_floats(const nlohmann::json& array) {
    if (!array.is_array())
        mismatch("accepted a text whose element is not an array");
    std::vector<float> v;
    for (const auto& x : array) {
        if (!x.is_number())
            mismatch("accepted an element that is not a number");
        const double d = x.get<double>();
        if (!(std::fabs(d) < vstore::cli::kFloatOverflow))
            mismatch("accepted a number beyond the float range");
        v.push_back(static_cast<float>(d));
    }
    return v;
}

void check_scanner(const std::string& text) {
    const auto fast = vstore::cli::scan_number_arrays(text, vstore::cli::kMaxInputDimension);
    if (!fast)
        return;
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception&) {
        mismatch("accepted a text that is not JSON");
    }
    std::vector<std::vector<float>> slow;
    if (fast->nested) {
        for (const auto& a : j)
            slow.push_back(slow_floats(a));
    } else {
        slow.push_back(slow_floats(j));
    }
    if (slow.size() != fast->arrays.size())
        mismatch("a different number of arrays");
    for (size_t i = 0; i < slow.size(); ++i) {
        if (slow[i].empty() || slow[i].size() != fast->arrays[i].size() ||
            std::memcmp(slow[i].data(), fast->arrays[i].data(), slow[i].size() * 4) != 0)
            mismatch("different floats");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static vstore::fuzz::ScratchFile file(".json");
    const std::string& path = file.write(data, size);
    vstore::fuzz::expect_success_or_error([&] { vstore::cli::read_query_file(path); });
    const std::string text(reinterpret_cast<const char*>(data), size);
    vstore::fuzz::expect_success_or_error(
        [&] { vstore::cli::parse_vector_json(text, "--vector"); });
    check_scanner(text);
    return 0;
}
