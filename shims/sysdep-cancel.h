/* Replaces glibc's sysdep-cancel.h, of which malloc uses SINGLE_THREAD_P:
   here the host's public __libc_single_threaded (false from the first
   pthread_create on, like libc's internal flag).  Every allocation path
   that skips locking tests it first, so it is also an entry into the
   allocator: see malloc-standalone-entry.h.  */
#ifndef _SYSDEP_CANCEL_H
#define _SYSDEP_CANCEL_H 1

#include <malloc-standalone-entry.h>
#include <sys/single_threaded.h>

#define SINGLE_THREAD_P (malloc_standalone_enter (), __libc_single_threaded)

#endif
