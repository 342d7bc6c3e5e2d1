// Applying what the input readers read to a commit, with the place in the input it came from
// in every error ("FILE:LINE: ..."), for the command line and the server alike.
#pragma once

#include <string>

#include "inputs.h"
#include "vstore/store.h"

namespace vstore::cli {

// Runs `f`, and gives any vstore::Error it throws the place in the input it came from.
template <typename F>
void at(const std::string& where, F&& f) {
    try {
        f();
    } catch (const Error& e) {
        throw Error(e.code(), where + ": " + e.message());
    }
}

inline void apply_operation(CommitBuilder& builder, const Operation& op, const std::string& where) {
    at(where, [&] {
        switch (op.kind) {
            case OpKind::kInsert:
                builder.insert(op.id, op.vector);
                break;
            case OpKind::kDelete:
                builder.remove(op.id);
                break;
            case OpKind::kReplace:
                builder.replace(op.id, op.vector);
                break;
        }
    });
}

inline void apply_snapshot_item(CommitBuilder& builder, const SnapshotItem& item) {
    at(item.where, [&] { builder.put(item.id, item.vector); });
}

}  // namespace vstore::cli
