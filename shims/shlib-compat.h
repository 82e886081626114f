/* Replaces glibc's include/shlib-compat.h.  x86_64's libc ABI starts at
   GLIBC_2.2.5, older than every version in which malloc's compat code
   (hooks, __morecore, cfree, malloc_set_state, __malloc_initialize_hook)
   became obsolete, so libc.so compiles all of it: every test holds.
   Symbol versions are the link map's business, so compat_symbol only
   marks the code; it creates no versioned alias.  */
#ifndef _SHLIB_COMPAT_H
#define _SHLIB_COMPAT_H 1

#define SHLIB_COMPAT(lib, introduced, obsoleted) 1
#define compat_symbol(lib, local, symbol, version)

#endif
