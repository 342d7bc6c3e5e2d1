// vstore-attack: the reliability campaigns of issue 15 at scale, through the public API.
// Processes killed during commits, and damaged files of every kind, each outcome classified.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "vstore/store.h"

namespace attack {

inline constexpr uint32_t kDim = 16;
inline constexpr const char* kDomain = "d";

// What a reader sees of a commit, as text: its live ids, some stored vectors, and the exact
// and graph search's answers to fixed queries. Two equal texts are the same answers.
std::string fingerprint(const vstore::Snapshot& s);

// `count` seeded vectors of kDim uniform values in [-1, 1).
std::vector<float> random_vectors(uint64_t count, uint64_t seed);

// How a child process ended.
struct ChildResult {
    enum Kind { kReturned, kVstoreError, kOtherException, kSignal, kTimeout } kind = kReturned;
    std::string output;  // what the child reported (a fingerprint, or the error's message)
    int signal = 0;
};

// Runs `fn` in a forked child that reports its result over a pipe; the child is killed after
// `timeout_s` seconds. `fn` must not use a store the caller has open.
ChildResult run_child(const std::function<std::string()>& fn, unsigned timeout_s);

struct KillFigures {
    uint64_t kills = 0, acknowledged = 0, checked = 0, lost = 0, changed = 0, half_visible = 0,
             unopenable = 0;
    std::vector<std::string> failures;  // the first few, described
};

// `kills` SIGKILLs of a process building commits, at random moments, in epochs of
// `per_epoch` kills over a fresh store in `work`; after each kill the store must open, every
// commit acknowledged so far must answer as the builder saw it, and every visible commit must
// be whole.
KillFigures kill_campaign(const std::filesystem::path& work, uint64_t kills, uint64_t per_epoch,
                          std::mt19937_64& rng);

// Outcomes of damaging one kind of file.
struct DamageFigures {
    std::string kind;
    uint64_t detected = 0;  // a vstore::Error
    uint64_t harmless = 0;  // every answer as before
    uint64_t wrong = 0;     // an answer changed, and no error
    uint64_t crash = 0;     // a signal, a hang, or an exception that is not vstore::Error
    std::vector<std::string> failures;
};

// For each kind of file of a store and of its packs: `flips` single-byte changes and
// `truncations` cuts at random places, each read by a fresh process that opens every commit
// (or the pack) and answers; the damaged file is restored after each.
std::vector<DamageFigures> damage_campaign(const std::filesystem::path& work, uint64_t flips,
                                           uint64_t truncations, std::mt19937_64& rng);

}  // namespace attack
