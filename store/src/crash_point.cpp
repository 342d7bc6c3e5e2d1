#include "crash_point.h"

#include <csignal>
#include <cstdlib>
#include <cstring>

namespace vstore::detail {

void crash_point(const char* name) {
    const char* target = std::getenv("VSTORE_CRASH_AT");
    if (target != nullptr && std::strcmp(target, name) == 0)
        std::raise(SIGKILL);
}

}  // namespace vstore::detail
