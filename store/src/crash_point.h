// Fault injection for the crash tests: a named point in a write path where the process can be
// made to die as if the power failed.
#pragma once

namespace vstore::detail {

// When the environment variable VSTORE_CRASH_AT equals `name`, the process kills itself with
// SIGKILL here. Points: "vectors-written" (vector bytes written, not yet synced),
// "vectors-appended" (vectors durable, no graph yet), "graph-half-written" (half of the graph
// file's temporary copy written), "graph-renamed" (graph file in place, directory not yet
// synced), "catalog-txn-written" (catalog transaction filled, not committed),
// "catalog-published" (commit visible, builder not yet returned).
void crash_point(const char* name);

}  // namespace vstore::detail
