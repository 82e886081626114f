/* Replaces glibc's sysdeps/x86_64/nptl/tls.h (the thread control block
   and its access macros), which reaches malloc only through
   bits/libc-tsd.h up to 2.22: its __libc_tsd_* macros, malloc's per-thread
   arena pointer, are plain __thread variables and need nothing of it.  */
#ifndef _TLS_H
#define _TLS_H 1
#endif
