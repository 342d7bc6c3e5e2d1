// A pack's config (spec/pack.md, "The config"): the parser Pack::open runs on it.
#include <string>

#include "pack_config.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    vstore::fuzz::expect_success_or_error(
        [&] { vstore::detail::parse_pack_config(text, "fuzz/config"); });
    return 0;
}
