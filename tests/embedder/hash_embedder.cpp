// vstore-test-embedder: an embed command (spec/embed-command.md) for the tests. Each text
// becomes the L2-normalised sum of one signed unit per word, at a dimension chosen by the
// word's hash (feature hashing): deterministic, so the same text always has the same vector,
// and texts that share words are near. A text without words, or whose words cancel out, has
// the vector of a constant token instead, so no vector is zero.
//
// Usage: vstore-test-embedder [--dimension N] [--exit-after N | --hang-after N | --garbage |
//                              --wrong-count | --error]
//   --dimension N   vectors of N components (default 8)
//   --exit-after N  answer N requests, then exit with status 3 on reading the next
//   --hang-after N  answer N requests, then read the next and never answer
//   --garbage       answer every request with a line that is not JSON
//   --wrong-count   answer every request with one vector too few
//   --error         answer every request with {"error": "..."}
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace {

using nlohmann::json;

struct Options {
    size_t dimension = 8;
    long exit_after = -1;  // -1: never
    long hang_after = -1;
    bool garbage = false;
    bool wrong_count = false;
    bool error = false;
};

[[noreturn]] void usage(const std::string& problem) {
    std::cerr << "vstore-test-embedder: " << problem << '\n';
    std::exit(2);
}

long number_after(int& i, int argc, char** argv) {
    if (i + 1 >= argc)
        usage(std::string(argv[i]) + " needs a number");
    char* end = nullptr;
    const long n = std::strtol(argv[++i], &end, 10);
    if (*end != '\0' || n < 0)
        usage(std::string(argv[i - 1]) + " needs a number, not '" + argv[i] + "'");
    return n;
}

Options parse_options(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--dimension")
            o.dimension = static_cast<size_t>(number_after(i, argc, argv));
        else if (arg == "--exit-after")
            o.exit_after = number_after(i, argc, argv);
        else if (arg == "--hang-after")
            o.hang_after = number_after(i, argc, argv);
        else if (arg == "--garbage")
            o.garbage = true;
        else if (arg == "--wrong-count")
            o.wrong_count = true;
        else if (arg == "--error")
            o.error = true;
        else
            usage("unknown option '" + std::string(arg) + "'");
    }
    if (o.dimension == 0)
        usage("--dimension must be at least 1");
    return o;
}

// FNV-1a, 64 bits.
uint64_t hash_of(std::string_view word) {
    uint64_t h = 14695981039346656037ull;
    for (const char c : word) {
        h ^= static_cast<unsigned char>(c);
        h *= 1099511628211ull;
    }
    return h;
}

void add_word(std::string_view word, std::vector<double>& sum) {
    const uint64_t h = hash_of(word);
    sum[h % sum.size()] += (h >> 63) != 0 ? -1.0 : 1.0;
}

// Words are the runs of bytes between ASCII spaces, ASCII letters lower-cased.
std::vector<float> embed(const std::string& text, size_t dimension) {
    std::vector<double> sum(dimension, 0.0);
    std::string word;
    for (const char c : text + ' ') {
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            if (!word.empty())
                add_word(word, sum);
            word.clear();
        } else {
            word += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
        }
    }
    double norm = 0;
    for (const double x : sum)
        norm += x * x;
    if (norm == 0) {
        add_word("\x01no words", sum);
        norm = 1;
    }
    std::vector<float> v;
    v.reserve(dimension);
    for (const double x : sum)
        v.push_back(static_cast<float>(x / std::sqrt(norm)));
    return v;
}

std::string answer(const std::string& line, const Options& o) {
    if (o.garbage)
        return "this is not JSON";
    if (o.error)
        return json{{"error", "the test embedder was told to refuse"}}.dump();
    json request;
    try {
        request = json::parse(line);
    } catch (const json::exception& e) {
        return json{{"error", std::string("not JSON: ") + e.what()}}.dump();
    }
    if (!request.is_object() || !request.contains("texts") || !request["texts"].is_array())
        return json{{"error", "expected {\"texts\": [...]}"}}.dump();
    json vectors = json::array();
    for (const json& text : request["texts"]) {
        if (!text.is_string())
            return json{{"error", "every text must be a string"}}.dump();
        vectors.push_back(embed(text.get<std::string>(), o.dimension));
    }
    if (o.wrong_count && !vectors.empty())
        vectors.erase(vectors.size() - 1);
    return json{{"vectors", vectors}}.dump();
}

}  // namespace

int main(int argc, char** argv) {
    const Options o = parse_options(argc, argv);
    std::string line;
    for (long answered = 0; std::getline(std::cin, line); ++answered) {
        if (answered == o.exit_after)
            return 3;
        if (answered == o.hang_after) {
            while (true)
                ::pause();
        }
        std::cout << answer(line, o) << std::endl;  // flushed: the caller waits for the line
    }
    return 0;
}
