// What the parts of `vstore inspect` share (inspect.cpp: dispatch, vector files, stores, packs;
// inspect_graph.cpp: graph files): the shape of a description, problems, and text helpers.
#pragma once

#include <cerrno>
#include <cstdint>
#include <fstream>
#include <iomanip>
#include <iterator>
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "inspect.h"
#include "vstore/format/error.h"

namespace vstore::cli::inspecting {

using nlohmann::json;

// The width of the label column of the text output.
inline constexpr int kLabelWidth = 16;

inline std::string percent(double fraction) {
    std::ostringstream s;
    s << std::fixed << std::setprecision(2) << fraction * 100 << " %";
    return s.str();
}

inline std::string fixed2(double value) {
    std::ostringstream s;
    s << std::fixed << std::setprecision(2) << value;
    return s.str();
}

// "1 node", "3 nodes": a count with its noun, in the plural unless it is one.
inline std::string count_of(uint64_t count, const std::string& noun) {
    return std::to_string(count) + " " + noun + (count == 1 ? "" : "s");
}

// A JSON string or number as text, without the quotes dump() would add to a string.
inline std::string text(const json& value) {
    return value.is_string() ? value.get<std::string>() : value.dump();
}

// One aligned "label  value" line of the text output.
inline void row(std::ostream& out, const std::string& label, const std::string& value) {
    out << std::left << std::setw(kLabelWidth) << label << value << '\n';
}

// Prints rows of cells as columns, each as wide as its widest cell; numeric columns are
// right-aligned so their digits line up. Trailing blanks are dropped.
void print_table(std::ostream& out, const std::string& indent,
                 const std::vector<std::vector<std::string>>& rows,
                 const std::vector<bool>& right_aligned);

// Something wrong that a check found; inspect exits 1 when there is any.
struct Problem {
    std::string where;  // "vector 100", "domain 'd', commit 'c2'", "layer 0", ...
    std::string what;
};

inline json problems_json(const std::vector<Problem>& problems) {
    json out = json::array();
    for (const auto& p : problems)
        out.push_back({{"where", p.where}, {"what", p.what}});
    return out;
}

inline void print_problems(const json& verify, std::ostream& out) {
    for (const auto& p : verify["problems"])
        out << "  " << p["where"].get<std::string>() << ": " << p["what"].get<std::string>()
            << '\n';
}

// What a describer returns: the JSON document (the text output is printed from it too, so
// both always say the same) and the problems that --verify found.
struct Description {
    json doc;
    std::vector<Problem> problems;
};

inline std::vector<uint8_t> read_whole_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw Error::not_found("'" + path + "' does not exist or cannot be read");
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                               std::istreambuf_iterator<char>());
    if (in.bad())
        throw Error::io("cannot read '" + path + "'", errno);
    return bytes;
}

// ---- Graph files (inspect_graph.cpp) ------------------------------------------------------

// True when `start` (a file's first bytes) begins as a graph file of any format version. A
// file too short to hold its version still counts, so that it is described as truncated.
bool starts_as_graph_file(const std::vector<uint8_t>& start);

// A graph file of format version 1 or 2, full or delta. Every checksum of the file is checked
// (a damaged file throws a one-line Error naming it); --verify adds the graph walk of a full
// graph and, for a delta, the check of its base files beside it.
Description describe_graph_file(const std::string& path, const InspectOptions& options);
void print_graph_file(const json& d, std::ostream& out);

}  // namespace vstore::cli::inspecting
