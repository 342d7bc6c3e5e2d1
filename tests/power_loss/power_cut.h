// A model of what survives a power failure, for the power-loss tests (in the manner of LevelDB's
// fault-injection test). Linked only into vstore-power-loss-tests, whose executable defines
// fsync, fdatasync, the write calls, unlink, rename and their relatives over libc's (so they
// also see LMDB's calls): while armed, each durability point under the armed directory is
// counted, and `cut` rewrites that directory to what a disk would hold after losing power.
//
// What counts as durable (the strict POSIX reading, which ext4's ordered mode is kinder than):
// - a file's bytes as they were at its last fsync or fdatasync (for a file that existed when
//   armed and was not synced since, as they were then); a write through a descriptor opened
//   with O_DSYNC or O_SYNC, as LMDB writes its meta pages, is durable when it returns;
// - a directory's entries as they were at its last fsync (when armed, if none since): a file
//   created, renamed, linked or unlinked since is as it was then. A name that a durable
//   listing holds for a file never synced leaves an empty file.
// Writes made since a file's last sync may reach the disk in any order, or not at all; a cut
// keeps none of them, only the newest of each file (as a disk that reorders writes might), or
// all of them (as a killed process's page cache does), as `arm` is told.
// The durability points are those calls (each fsync, fdatasync and O_DSYNC write); a power cut
// between two points leaves what one just before the second leaves, so a test that cuts before
// each point in turn, and once after the last, sees every state a crash can leave.
#pragma once

#include <string>

namespace vstore::test::power_cut {

// The exit status of a process whose power was cut.
constexpr int kPowerCutExit = 86;

// What a power cut keeps of the writes made to a file since its last sync.
enum class Unsynced { kNone, kNewestOnly, kAll };
inline constexpr Unsynced kEveryUnsyncedMode[] = {Unsynced::kNone, Unsynced::kNewestOnly,
                                                  Unsynced::kAll};
const char* unsynced_name(Unsynced mode);

// Starts the model over the directory tree at `root` (an absolute path): its present contents
// count as durable. The process's power is cut just before durability point number `cut_at`
// (counted from 0); never when it is negative.
void arm(const std::string& root, long cut_at, Unsynced unsynced);

// The durability points seen under the armed directory so far.
long points_seen();

// Cuts the power now: stops every other thread at its next file call, rewrites the armed
// directory to its durable state and ends the process with kPowerCutExit.
[[noreturn]] void cut();

}  // namespace vstore::test::power_cut
