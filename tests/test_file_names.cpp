#include <catch2/catch.hpp>

#include "vstore/format/error.h"
#include "vstore/format/file_names.h"

using namespace vstore;
using namespace vstore::format;

TEST_CASE("domain names become safe file names", "[names]") {
    CHECK(vector_file_name("admin/star_wars") == "admin%2Fstar_wars.vecs");
    CHECK(vector_file_name("plain-name_1.2~x") == "plain-name_1.2~x.vecs");
    CHECK(vector_file_name("..") == "%2E..vecs");
    CHECK(vector_file_name(".hidden") == "%2Ehidden.vecs");
    CHECK(vector_file_name("a@b c%") == "a%40b%20c%25.vecs");
    CHECK(vector_file_name("caf\xC3\xA9") == "caf%C3%A9.vecs");
    for (const std::string name : {"admin/star_wars", "..", "a@b c%", "caf\xC3\xA9", "/../x"}) {
        const std::string encoded = percent_encode(name);
        CHECK(encoded.find('/') == std::string::npos);
        CHECK(encoded != "..");
        CHECK(encoded != ".");
        CHECK(percent_decode(encoded) == name);
    }
}

TEST_CASE("bad domain names are rejected with a clear error", "[names]") {
    auto rejects = [](const std::string& name, const std::string& fragment) {
        try {
            vector_file_name(name);
            FAIL("accepted '" << name << "'");
        } catch (const Error& e) {
            CHECK(e.code() == ErrorCode::kInvalidArgument);
            CHECK_THAT(e.what(), Catch::Contains(fragment));
        }
    };
    rejects("", "empty");
    rejects(std::string(256, 'a'), "256 bytes");
    rejects("bad\xFF", "not valid UTF-8");
    rejects("over\xC0\xAF", "not valid UTF-8");           // overlong '/'
    rejects("surrogate\xED\xA0\x80", "not valid UTF-8");  // U+D800
    rejects("cut\xE2\x82", "not valid UTF-8");
    rejects(std::string("nul\0byte", 8), "NUL");
    // 255 bytes is allowed as a name, but 85 three-byte characters encode to 765 bytes.
    std::string wide;
    for (int i = 0; i < 85; ++i)
        wide += "\xE2\x82\xAC";
    rejects(wide, "file name");
    CHECK_NOTHROW(vector_file_name(std::string(250, 'a')));
}

TEST_CASE("malformed percent escapes are rejected", "[names]") {
    CHECK_THROWS_AS(percent_decode("abc%2"), Error);
    CHECK_THROWS_AS(percent_decode("abc%ZZ"), Error);
    CHECK(percent_decode("a%2fb") == "a/b");
}
