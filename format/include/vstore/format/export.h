// What libvstore.so exports: the library is compiled with every symbol hidden
// (-fvisibility=hidden), and VSTORE_API marks the public API's classes and functions, the only
// symbols a program linking the shared library can reach.
#pragma once

#define VSTORE_API __attribute__((visibility("default")))
// For a class nested in an exported one that is the library's own (an Impl behind a pointer),
// which would otherwise be exported with it.
#define VSTORE_HIDDEN __attribute__((visibility("hidden")))
