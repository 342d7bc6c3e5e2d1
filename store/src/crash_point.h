// Fault injection for the crash tests: a named point in a write path where the process can be
// made to die as if the power failed.
#pragma once

namespace vstore::detail {

// When the environment variable VSTORE_CRASH_AT equals `name`, the process kills itself with
// SIGKILL here. Points: "vectors-written" (vector bytes written, not yet synced),
// "vectors-appended" (vectors durable, no graph yet), "graph-half-written" (half of the graph
// file's temporary copy written), "graph-renamed" (graph file in place, directory not yet
// synced), "catalog-txn-written" (catalog transaction filled, not committed),
// "catalog-published" (commit visible, builder not yet returned); drop and gc:
// "catalog-rewrite-written" (the catalog transaction filled, not committed),
// "drop-catalog-written" (commits dropped, their files not yet deleted); vacuum:
// "vacuum-vectors-written" (the new vector file durable), "vacuum-graphs-written" (every new
// graph file durable, catalog unchanged), "vacuum-catalog-written" (the catalog names the new
// files, the old ones not yet deleted); Pack::write: "pack-staged" (every member staged and
// synced, the pack not yet in place).
void crash_point(const char* name);

}  // namespace vstore::detail
