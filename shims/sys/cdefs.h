/* Replaces glibc's include/sys/cdefs.h: the host's public cdefs, with
   __nonnull disabled as inside libc, where malloc's own NULL checks must
   not be optimised away.  */
#include_next <sys/cdefs.h>

#undef __nonnull
#define __nonnull(params)
