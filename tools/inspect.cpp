#include "inspect.h"

#include <array>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>

#include "vstore/format/error.h"
#include "vstore/format/vector_file_format.h"
#include "vstore/vector_file.h"

namespace vstore::cli {
namespace {

using nlohmann::json;

std::string iso_time(uint64_t unix_ms) {
    const std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string hex64(uint64_t v) {
    char buf[19];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return buf;
}

std::string percent(double fraction) {
    std::ostringstream s;
    s << std::fixed << std::setprecision(2) << fraction * 100 << " %";
    return s.str();
}

json describe_vector_file(const VectorFile& f) {
    const auto& l = f.layout();
    const auto& h = f.header();
    const uint64_t count = f.size();
    return json{
        {"kind", "vector file"},
        {"path", f.path()},
        {"format_version", h.version},
        {"domain", h.domain},
        {"element_type", "float32"},
        {"dimension", l.dimension},
        {"vector_bytes", l.vector_bytes},
        {"page_bytes", l.page_bytes},
        {"vectors_per_page", l.vectors_per_page},
        {"padding_bytes", l.padding_bytes()},
        {"page_waste", l.page_waste()},
        {"pages_per_group", l.pages_per_group},
        {"vectors_per_group", l.vectors_per_group},
        {"group_overhead", l.group_overhead()},
        {"count", count},
        {"pages", l.pages_for(count)},
        {"commit_sequence", f.commit_sequence()},
        {"created", iso_time(h.created_unix_ms)},
        {"file_id", hex64(h.file_id)},
    };
}

json describe_report(const VectorFileReport& r) {
    json problems = json::array();
    for (const auto& p : r.problems)
        problems.push_back({{"where", p.where}, {"what", p.what}});
    return json{{"ok", r.ok()},
                {"file_bytes", r.file_bytes},
                {"tail_bytes", r.tail_bytes},
                {"pages_checked", r.pages_checked},
                {"vectors_checked", r.vectors_checked},
                {"problems", problems}};
}

void print_vector_file(const json& d, std::ostream& out) {
    auto row = [&](const char* label, const std::string& value) {
        out << std::left << std::setw(16) << label << value << '\n';
    };
    row("kind", "vector file (format version " + d["format_version"].dump() + ")");
    row("path", d["path"].get<std::string>());
    row("domain", d["domain"].get<std::string>());
    row("element type", d["element_type"].get<std::string>());
    row("dimension", d["dimension"].dump() + " (" + d["vector_bytes"].dump() + " bytes a vector)");
    row("page", d["page_bytes"].dump() + " bytes (" +
                    std::to_string(d["page_bytes"].get<uint32_t>() / format::kOsPageBytes) +
                    " OS pages), " + d["vectors_per_page"].dump() + " vectors, " +
                    d["padding_bytes"].dump() + " bytes padding (" +
                    percent(d["page_waste"].get<double>()) + " waste)");
    row("group", "1 checksum page + " + d["pages_per_group"].dump() +
                     " data pages = " + d["vectors_per_group"].dump() + " vectors (" +
                     percent(d["group_overhead"].get<double>()) + " overhead)");
    row("vectors", d["count"].dump());
    row("data pages", d["pages"].dump());
    row("commit seq", d["commit_sequence"].dump());
    row("created", d["created"].get<std::string>());
    row("file id", d["file_id"].get<std::string>());
    if (d.contains("verify")) {
        const json& v = d["verify"];
        row("file size", v["file_bytes"].dump() + " bytes");
        row("torn tail", v["tail_bytes"].dump() + " bytes (ignored)");
        row("verify", (v["ok"].get<bool>() ? std::string("ok") : std::string("FAILED")) + ": " +
                          v["pages_checked"].dump() + " pages, " + v["vectors_checked"].dump() +
                          " vectors checked");
        for (const auto& p : v["problems"]) {
            out << "  " << p["where"].get<std::string>() << ": " << p["what"].get<std::string>()
                << '\n';
        }
    }
}

// First bytes of a file, for recognising its kind.
std::array<uint8_t, 8> read_magic(const std::string& path) {
    std::array<uint8_t, 8> magic{};
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw Error::not_found("'" + path + "' does not exist or cannot be read");
    in.read(reinterpret_cast<char*>(magic.data()), magic.size());
    return magic;
}

}  // namespace

int inspect(const std::string& path, const InspectOptions& options, std::ostream& out,
            std::ostream& err) {
    try {
        if (std::filesystem::is_directory(path)) {
            throw Error::invalid_argument("'" + path + "' is a directory, not a vstore file");
        }
        const auto magic = read_magic(path);
        if (magic != format::kVectorFileMagic) {
            throw Error::invalid_argument("'" + path + "' is not a vstore file (unknown magic)");
        }
        const auto file = VectorFile::open(path);
        json d = describe_vector_file(*file);
        bool ok = true;
        if (options.verify) {
            const auto report = file->verify();
            d["verify"] = describe_report(report);
            ok = report.ok();
        }
        if (options.json) {
            out << d.dump(2) << '\n';
        } else {
            print_vector_file(d, out);
        }
        if (!ok) {
            err << "vstore: verify failed: "
                << d["verify"]["problems"][0]["where"].get<std::string>() << ": "
                << d["verify"]["problems"][0]["what"].get<std::string>() << " in '" << path
                << "'\n";
        }
        return ok ? 0 : 1;
    } catch (const std::exception& e) {
        err << "vstore: " << e.what() << '\n';
        return 1;
    }
}

}  // namespace vstore::cli
