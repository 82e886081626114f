/* Stands in for glibc's include/libc-internal.h, an internal header of
   libc's own prototypes and helpers.  Up to 2.25 it also held the DIAG_*
   macros that silence a compiler warning around a statement, which that
   version's tst-malloc.c, tst-mcheck.c and tst-realloc.c include it for
   (2.26 moved them to include/libc-diag.h, which the harness copies from
   the tree where there is one).  Only those macros are provided: the rest
   of the file declares libc internals that no test of the allocator
   reaches.  */
#ifndef GLIBC_TESTS_LIBC_INTERNAL_H
#define GLIBC_TESTS_LIBC_INTERNAL_H 1

#if __has_include (<libc-diag.h>)
# include <libc-diag.h>
#else
# define DIAG_PUSH_NEEDS_COMMENT _Pragma ("GCC diagnostic push")
# define DIAG_POP_NEEDS_COMMENT _Pragma ("GCC diagnostic pop")
# define _DIAG_STR1(s) #s
# define _DIAG_STR(s) _DIAG_STR1(s)
# define DIAG_IGNORE_NEEDS_COMMENT(version, option) \
  _Pragma (_DIAG_STR (GCC diagnostic ignored option))
# define DIAG_IGNORE_Os_NEEDS_COMMENT(version, option)
#endif

#endif
