#include "blob.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "json_output.h"
#include "vstore/format/error.h"

namespace vstore::sql {

static_assert(std::endian::native == std::endian::little,
              "embedding blobs are little-endian float32, read and written as native floats");

namespace {

std::string one_line(std::string s) {
    for (char& c : s)
        if (c == '\n' || c == '\r')
            c = ' ';
    return s;
}

}  // namespace

std::vector<float> floats_of_blob(const void* data, size_t bytes, std::string_view what) {
    if (bytes % sizeof(float) != 0)
        throw Error::invalid_argument(std::string(what) + " is " + std::to_string(bytes) +
                                      " bytes, not a multiple of 4 (float32)");
    std::vector<float> floats(bytes / sizeof(float));
    if (bytes != 0)
        std::memcpy(floats.data(), data, bytes);  // a blob need not be aligned for float
    return floats;
}

std::string blob_of_floats(std::span<const float> floats) {
    return std::string(reinterpret_cast<const char*>(floats.data()), floats.size_bytes());
}

std::vector<float> floats_of_json(std::string_view json_text, std::string_view what) {
    const auto document = nlohmann::json::parse(json_text, nullptr, false);
    if (document.is_discarded())
        throw Error::invalid_argument(std::string(what) + " is not JSON");
    if (!document.is_array())
        throw Error::invalid_argument(std::string(what) + " must be a JSON array of numbers, not " +
                                      document.type_name());
    std::vector<float> floats;
    floats.reserve(document.size());
    for (size_t i = 0; i < document.size(); ++i) {
        const auto& element = document[i];
        if (!element.is_number())
            throw Error::invalid_argument(std::string(what) + ": element " + std::to_string(i) +
                                          " is " + element.type_name() + ", not a number");
        const double value = element.get<double>();
        const float f = static_cast<float>(value);
        // As Python's struct.pack: a finite number whose float32 would be infinite is refused.
        if (std::isinf(f) || std::isinf(value))
            throw Error::invalid_argument(std::string(what) + ": element " + std::to_string(i) +
                                          " (" + one_line(element.dump()) +
                                          ") is outside float32's range");
        floats.push_back(f);
    }
    return floats;
}

std::string json_of_floats(std::span<const float> floats, std::string_view what) {
    nlohmann::json array = nlohmann::json::array();
    for (size_t i = 0; i < floats.size(); ++i) {
        if (!std::isfinite(floats[i]))
            throw Error::invalid_argument(std::string(what) + ": component " + std::to_string(i) +
                                          " is " + (std::isnan(floats[i]) ? "NaN" : "infinite") +
                                          ", which JSON cannot hold");
        array.push_back(cli::json_float(floats[i]));
    }
    return array.dump();
}

}  // namespace vstore::sql
