/* Replaces glibc's include/sys/cdefs.h: the host's public cdefs, with
   __nonnull disabled as inside libc, where malloc's own NULL checks must
   not be optimised away, and the attribute macros that newer versions'
   headers use but an older host's cdefs lacks.  */
#include_next <sys/cdefs.h>

#undef __nonnull
#define __nonnull(params)

#ifndef __COLD
# define __COLD __attribute__ ((__cold__))
#endif
