#include "item_embedder.h"

#include "vstore/format/error.h"

namespace vstore::embed {
namespace {

// Items that wait behind a text are bounded, so that a few texts among many vectors keep
// memory small: past this many, the batch goes out before it is full.
constexpr size_t kMaxWaiting = 4096;

}  // namespace

template <class Item>
ItemEmbedder<Item>::ItemEmbedder(EmbedCommand* embedder, Where where, Sink sink)
    : embedder_(embedder), where_(std::move(where)), sink_(std::move(sink)) {}

template <class Item>
void ItemEmbedder<Item>::add(Item&& item) {
    if (!item.text) {
        if (waiting_.empty())
            sink_(std::move(item));
        else
            waiting_.push_back(std::move(item));
    } else {
        if (embedder_ == nullptr)
            throw Error::invalid_argument(where_(item) +
                                          ": has a \"string\" to embed, but no embed command "
                                          "was given (--embed-command)");
        try {
            check_text(*item.text);
        } catch (const Error& e) {
            throw Error(e.code(), where_(item) + ": \"string\": " + e.message());
        }
        waiting_.push_back(std::move(item));
        ++texts_;
    }
    if (texts_ > 0 && (texts_ >= embedder_->options().batch_size || waiting_.size() >= kMaxWaiting))
        flush();
}

template <class Item>
void ItemEmbedder<Item>::finish() {
    flush();
}

template <class Item>
void ItemEmbedder<Item>::flush() {
    if (waiting_.empty())
        return;
    std::vector<std::string> texts;
    texts.reserve(texts_);
    for (const Item& item : waiting_) {
        if (item.text)
            texts.push_back(*item.text);
    }
    std::vector<std::vector<float>> vectors;
    try {
        vectors = embedder_->embed(texts);
    } catch (const Error& e) {
        const std::string batch =
            texts.size() > 1 ? "a batch of " + std::to_string(texts.size()) + " texts from here: "
                             : std::string();
        throw Error(e.code(), where_(waiting_.front()) + ": " + batch + e.message());
    }
    size_t next = 0;
    for (Item& item : waiting_) {
        if (item.text)
            item.vector = std::move(vectors[next++]);
        sink_(std::move(item));
    }
    waiting_.clear();
    texts_ = 0;
}

template class ItemEmbedder<cli::Operation>;
template class ItemEmbedder<cli::SnapshotItem>;

OperationEmbedder::OperationEmbedder(EmbedCommand* embedder, const std::string& name, Sink sink)
    : ItemEmbedder(
          embedder,
          [name](const cli::Operation& op) { return name + ":" + std::to_string(op.line); },
          std::move(sink)) {}

SnapshotEmbedder::SnapshotEmbedder(EmbedCommand* embedder, Sink sink)
    : ItemEmbedder(
          embedder, [](const cli::SnapshotItem& item) { return item.where; }, std::move(sink)) {}

}  // namespace vstore::embed
