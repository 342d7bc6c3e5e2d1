// The SQLite API as a loadable extension sees it: every call goes through the routines SQLite
// hands the entry point (extension.cpp defines the pointer with SQLITE_EXTENSION_INIT1), so
// that the extension works in any program that embeds SQLite, whichever library it linked.
#pragma once

#include <sqlite3ext.h>

SQLITE_EXTENSION_INIT3
