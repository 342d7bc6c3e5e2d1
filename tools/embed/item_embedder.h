// Fills in the vectors of the operations and snapshot items that carry a text ("string")
// instead, in batches, on their way from a reader (tools/inputs.h) to where they are applied,
// such as a CommitBuilder. Items leave in the order they came.
//
//   OperationEmbedder ops(embedder, "request body", [&](cli::Operation&& op) { apply(op); });
//   cli::read_operations_text(body, "request body", [&](cli::Operation&& op) {
//   ops.add(std::move(op)); }); ops.finish();
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "embed_command.h"
#include "inputs.h"

namespace vstore::embed {

// Item is cli::Operation or cli::SnapshotItem: it has `std::optional<std::string> text` and
// `std::vector<float> vector`.
template <class Item>
class ItemEmbedder {
  public:
    using Sink = std::function<void(Item&&)>;
    using Where = std::function<std::string(const Item&)>;  // "FILE:LINE", for messages

    // `embedder` may be null when none was configured: then an item with a text is an error.
    ItemEmbedder(EmbedCommand* embedder, Where where, Sink sink);

    // Passes `item` on, at once if nothing waits before it; an item with a text waits until a
    // batch is full (the embedder's batch size), and so do the items after it. Throws
    // Error(kInvalidArgument) "WHERE: ..." for a text when there is no embedder or check_text
    // refuses it, and the embedder's Error(kIO) prefixed with the batch's first WHERE. After an
    // exception, the items still waiting are dropped with this object.
    void add(Item&& item);
    // Embeds the last batch and passes on everything still waiting.
    void finish();

  private:
    void flush();

    EmbedCommand* embedder_;
    Where where_;
    Sink sink_;
    std::vector<Item> waiting_;  // in order; empty or starting with an item with a text
    size_t texts_ = 0;           // items of waiting_ with a text
};

extern template class ItemEmbedder<cli::Operation>;
extern template class ItemEmbedder<cli::SnapshotItem>;

// Operations of the source named `name` ("ops.jsonl", "request body"), placed by their line.
class OperationEmbedder : public ItemEmbedder<cli::Operation> {
  public:
    OperationEmbedder(EmbedCommand* embedder, const std::string& name, Sink sink);
};

// Snapshot items, placed by their `where`.
class SnapshotEmbedder : public ItemEmbedder<cli::SnapshotItem> {
  public:
    SnapshotEmbedder(EmbedCommand* embedder, Sink sink);
};

}  // namespace vstore::embed
