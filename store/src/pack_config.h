// The reader of a pack's config (spec/pack.md, "The config"), defined in pack.cpp. Internal to
// store/; declared here so that the fuzzing harness (tools/fuzz/) reaches it as Pack::open does.
#pragma once

#include <string>

#include "vstore/pack.h"

namespace vstore::detail {

// Parses and checks the config JSON `text`; `where` names it in errors. Error(kCorruption) for
// a config that is not what the spec requires, Error(kInvalidArgument) for a format version
// this build does not read.
PackConfig parse_pack_config(const std::string& text, const std::string& where);

}  // namespace vstore::detail
