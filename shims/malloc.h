/* Stands in front of the host's malloc.h so that malloc gets the
   version's own: glibc's include/malloc.h, reached through the glibc
   tree on the include path, which wraps that version's public malloc.h
   (hooks, mallinfo2, ... differ by version) and adds libc's internal
   declarations (mstate; up to 2.33 a hidden __malloc_initialized).
   Inside libc (_LIBC) the public header declares the hooks without
   volatile and deprecation, matching malloc.c's definitions; _LIBC is
   set for these headers alone.  */
#ifndef _MALLOC_H
#include <features.h>
#include <stddef.h>
#include <stdio.h>

#define _LIBC 1
#include <include/malloc.h>
#undef _LIBC

#endif
