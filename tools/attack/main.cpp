// vstore-attack: kills builders at random moments and damages every kind of file, at the
// scale of issue 15's targets, and prints what happened as a Markdown report. Exit status 1
// when an acknowledged commit was lost or changed, a half commit was visible, a store did not
// open after a kill, or damage gave a wrong answer or a crash.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "attack.h"

namespace {

std::string kill_report(const attack::KillFigures& f, double seconds) {
    std::ostringstream out;
    out << "## Builders killed during commits\n\n"
        << "| kills | commits acknowledged | checks of acknowledged commits | lost | changed | "
           "half-visible commits | store did not open | seconds |\n"
        << "|---:|---:|---:|---:|---:|---:|---:|---:|\n"
        << "| " << f.kills << " | " << f.acknowledged << " | " << f.checked << " | " << f.lost
        << " | " << f.changed << " | " << f.half_visible << " | " << f.unopenable << " | "
        << static_cast<long>(seconds) << " |\n\n";
    for (const auto& failure : f.failures)
        out << "- " << failure << "\n";
    return out.str();
}

std::string damage_report(const std::vector<attack::DamageFigures>& figures, uint64_t flips,
                          uint64_t truncations, double seconds) {
    std::ostringstream out;
    out << "## Damaged files\n\n"
        << flips << " single-byte changes and " << truncations
        << " truncations of each kind, each read by a fresh process that opens every commit "
           "(or the pack) and answers; "
        << static_cast<long>(seconds) << " s.\n\n"
        << "| file | detected | harmless | wrong | crash |\n|---|---:|---:|---:|---:|\n";
    for (const auto& f : figures) {
        out << "| " << f.kind << " | " << f.detected << " | " << f.harmless << " | " << f.wrong
            << " | " << f.crash << " |\n";
    }
    out << "\n";
    for (const auto& f : figures) {
        for (const auto& failure : f.failures)
            out << "- " << failure << "\n";
    }
    return out.str();
}

double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"vstore-attack: builders killed at random moments, damaged files of every kind"};
    uint64_t kills = 1000, per_epoch = 100, flips = 1000, truncations = 200, seed = 1;
    std::string work, out;
    app.add_option("--kills", kills, "SIGKILLs of a process building commits")->capture_default_str();
    app.add_option("--kills-per-store", per_epoch, "kills before the campaign starts a fresh store")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    app.add_option("--flips", flips, "single-byte changes of each kind of file")->capture_default_str();
    app.add_option("--truncations", truncations, "truncations of each kind of file")
        ->capture_default_str();
    app.add_option("--seed", seed, "of every random choice")->capture_default_str();
    app.add_option("--work", work, "scratch directory (default: a new one in the temp directory)");
    app.add_option("--out", out, "also write the report to this file");
    CLI11_PARSE(app, argc, argv);

    namespace fs = std::filesystem;
    const bool own_work = work.empty();
    if (own_work) {
        work = (fs::temp_directory_path() / ("vstore-attack-" + std::to_string(::getpid()))).string();
    }
    fs::create_directories(work);
    std::mt19937_64 rng(seed);
    std::string report = "# vstore-attack (seed " + std::to_string(seed) + ")\n\n";
    bool failed = false;
    try {
        if (kills > 0) {
            const auto t = std::chrono::steady_clock::now();
            const auto f = attack::kill_campaign(work, kills, per_epoch, rng);
            report += kill_report(f, seconds_since(t));
            failed = failed || f.lost + f.changed + f.half_visible + f.unopenable > 0 ||
                     !f.failures.empty();
        }
        if (flips + truncations > 0) {
            const auto t = std::chrono::steady_clock::now();
            const auto figures = attack::damage_campaign(work, flips, truncations, rng);
            report += damage_report(figures, flips, truncations, seconds_since(t));
            for (const auto& f : figures)
                failed = failed || f.wrong + f.crash > 0;
        }
    } catch (const std::exception& e) {
        std::cerr << "vstore-attack: " << e.what() << "\n";
        failed = true;
    }
    if (own_work)
        fs::remove_all(work);
    std::cout << report;
    if (!out.empty())
        std::ofstream(out) << report;
    return failed ? 1 : 0;
}
