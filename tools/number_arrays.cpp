#include "number_arrays.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>

namespace vstore::cli {
namespace {

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

class Scanner {
  public:
    explicit Scanner(std::string_view text) : p_(text.data()), end_(text.data() + text.size()) {}

    void skip_space() {
        while (p_ < end_ && is_space(*p_))
            ++p_;
    }
    bool at_end() const { return p_ == end_; }
    char peek() const { return p_ < end_ ? *p_ : '\0'; }
    bool take(char c) {
        if (peek() != c)
            return false;
        ++p_;
        return true;
    }

    // One number in JSON's grammar, -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, which is
    // stricter than from_chars (no "inf", "nan", ".5", "1." or "01").
    //
    // It is parsed as a double and then narrowed, as the slow path does, so that both round
    // alike. Most numbers a client writes have at most 19 significant digits and a small
    // exponent; for those whose digits fit a double exactly (m <= 2^53) and whose power of ten
    // is exact (10^0 to 10^22), m * 10^e or m / 10^-e is one correctly rounded operation, so
    // exactly the double from_chars makes (Clinger's fast path), at a third of its cost.
    bool number(float& out) {
        const char* start = p_;
        const char* q = p_;
        const bool negative = q < end_ && *q == '-';
        if (negative)
            ++q;
        uint64_t mantissa = 0;
        int digits = 0;     // significant digits taken into `mantissa`
        int exponent = 0;   // of ten, applied to `mantissa`
        bool exact = true;  // false once a digit did not fit into `mantissa`
        const auto take_digit = [&](char c, bool fraction) {
            if (mantissa == 0 && c == '0') {
                exponent -= fraction;
                return;
            }
            if (digits == 19) {
                exact = false;
                return;
            }
            mantissa = mantissa * 10 + static_cast<uint64_t>(c - '0');
            ++digits;
            exponent -= fraction;
        };
        if (q >= end_)
            return false;
        if (*q == '0') {
            ++q;
        } else if (is_digit(*q)) {
            while (q < end_ && is_digit(*q))
                take_digit(*q++, false);
        } else {
            return false;
        }
        bool integer = true;
        if (q < end_ && *q == '.') {
            integer = false;
            ++q;
            if (q >= end_ || !is_digit(*q))
                return false;
            while (q < end_ && is_digit(*q))
                take_digit(*q++, true);
        }
        if (q < end_ && (*q == 'e' || *q == 'E')) {
            integer = false;
            ++q;
            const bool negative_exponent = q < end_ && *q == '-';
            if (q < end_ && (*q == '+' || *q == '-'))
                ++q;
            if (q >= end_ || !is_digit(*q))
                return false;
            int written = 0;
            while (q < end_ && is_digit(*q)) {
                written = std::min(written * 10 + (*q++ - '0'), 100'000);
            }
            exponent += negative_exponent ? -written : written;
        }
        static constexpr double kPowersOfTen[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                                  1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                                  1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
        double d = 0;
        if (exact && mantissa <= (uint64_t{1} << 53) && exponent >= -22 && exponent <= 22) {
            const double m = static_cast<double>(mantissa);
            d = exponent >= 0 ? m * kPowersOfTen[exponent] : m / kPowersOfTen[-exponent];
            if (negative)
                d = -d;
        } else {
            // from_chars fails on a double's overflow; a float's is checked below.
            const auto r = std::from_chars(start, q, d);
            if (r.ec != std::errc() || r.ptr != q)
                return false;
        }
        if (!(std::fabs(d) < kFloatOverflow))
            return false;
        // nlohmann::json reads "-0" as the integer 0, so as +0.0 (but "-0.0" as -0.0).
        if (integer && d == 0)
            d = 0;
        out = static_cast<float>(d);
        p_ = q;
        return true;
    }

    // "[n, n, ...]" with the '[' already taken.
    bool numbers(std::vector<float>& out, size_t max_length) {
        skip_space();
        if (take(']'))
            return false;  // empty: the slow path names the error
        for (;;) {
            float f = 0;
            skip_space();
            if (out.size() == max_length || !number(f))
                return false;
            out.push_back(f);
            skip_space();
            if (take(']'))
                return true;
            if (!take(','))
                return false;
        }
    }

  private:
    const char* p_;
    const char* end_;
};

}  // namespace

std::optional<NumberArrays> scan_number_arrays(std::string_view text, size_t max_length) {
    Scanner s(text);
    NumberArrays result;
    s.skip_space();
    if (!s.take('['))
        return std::nullopt;
    s.skip_space();
    if (s.peek() != '[') {
        result.arrays.emplace_back();
        if (!s.numbers(result.arrays.back(), max_length))
            return std::nullopt;
    } else {
        result.nested = true;
        for (;;) {
            s.skip_space();
            if (!s.take('['))
                return std::nullopt;
            auto& array = result.arrays.emplace_back();
            array.reserve(result.arrays.front().size());
            if (!s.numbers(array, max_length) || array.size() != result.arrays.front().size())
                return std::nullopt;
            s.skip_space();
            if (s.take(']'))
                break;
            if (!s.take(','))
                return std::nullopt;
        }
    }
    s.skip_space();
    if (!s.at_end())
        return std::nullopt;
    return result;
}

}  // namespace vstore::cli
