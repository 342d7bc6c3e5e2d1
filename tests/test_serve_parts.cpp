// The parts of `vstore serve` that parse what its operator gives it: the --listen address and
// the --token-file, and the bearer-token check of every request.
#include <catch2/catch.hpp>
#include <fstream>

#include "access_token.h"
#include "listen_address.h"
#include "test_support.h"
#include "vstore/format/error.h"

using namespace vstore;
using namespace vstore::serve;
using vstore::test::TempDir;

TEST_CASE("serve: listen addresses, loopback or not", "[serve]") {
    const auto a = parse_listen_address("127.0.0.1:8080");
    CHECK(a.host == "127.0.0.1");
    CHECK(a.url_host == "127.0.0.1");
    CHECK(a.port == 8080);
    CHECK(a.loopback);
    CHECK(parse_listen_address("127.1.2.3:0").loopback);
    CHECK(parse_listen_address("localhost:9").host == "127.0.0.1");
    CHECK(parse_listen_address(":9").host == "127.0.0.1");
    CHECK(parse_listen_address("9").port == 9);
    CHECK_FALSE(parse_listen_address("0.0.0.0:80").loopback);
    CHECK_FALSE(parse_listen_address("10.1.2.3:80").loopback);
    const auto v6 = parse_listen_address("[::1]:8080");
    CHECK(v6.host == "::1");
    CHECK(v6.url_host == "[::1]");
    CHECK(v6.loopback);
    CHECK_FALSE(parse_listen_address("[::]:8080").loopback);
    for (const char* bad : {"127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:", "127.0.0.1:8o",
                            "::1:80", "[::1]80", "[::1", "example.com:80", "1.2.3:80", ""}) {
        INFO(bad);
        test::check_error([&] { parse_listen_address(bad); }, ErrorCode::kInvalidArgument,
                          {"--listen"});
    }
}

TEST_CASE("serve: the bearer token must match whole, and nothing else does", "[serve]") {
    CHECK(bearer_token_matches("Bearer s3cret", "s3cret"));
    CHECK_FALSE(bearer_token_matches("Bearer s3cre", "s3cret"));
    CHECK_FALSE(bearer_token_matches("Bearer s3cret!", "s3cret"));
    CHECK_FALSE(bearer_token_matches("Bearer S3cret", "s3cret"));
    CHECK_FALSE(bearer_token_matches("Bearer ", "s3cret"));
    CHECK_FALSE(bearer_token_matches("bearer s3cret", "s3cret"));
    CHECK_FALSE(bearer_token_matches("Basic s3cret", "s3cret"));
    CHECK_FALSE(bearer_token_matches("", "s3cret"));
    CHECK_FALSE(bearer_token_matches(std::string("Bearer s3cret\0x", 15), "s3cret"));
}

TEST_CASE("serve: the token file's first line is the token", "[serve]") {
    TempDir dir;
    auto write = [&](const std::string& text) {
        std::ofstream(dir.file("token"), std::ios::binary) << text;
        return dir.file("token");
    };
    CHECK(read_access_token(write("abc-123\n")) == "abc-123");
    CHECK(read_access_token(write("  abc-123 \r\nsecond line\n")) == "abc-123");
    test::check_error([&] { read_access_token(write("\n")); }, ErrorCode::kInvalidArgument,
                      {"no token"});
    test::check_error([&] { read_access_token(write("two words\n")); }, ErrorCode::kInvalidArgument,
                      {"printable ASCII"});
    test::check_error([&] { read_access_token(dir.file("missing")); }, ErrorCode::kNotFound,
                      {"missing"});
}
