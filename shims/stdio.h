/* Replaces glibc's include/stdio.h: the host's public stdio.h plus the
   libc-internal pieces malloc uses: stream locking and the cancellation
   flag malloc_stats sets, and the fatal-message functions.
   __libc_message changed shape in 2.41: before it is
   __libc_message (do_abort, fmt, ...), after it __libc_message (fmt, ...),
   which glibc turns into __libc_message_impl.  The macro dispatches on the
   type of the first argument (do_abort is an int, a format a char *), so
   each version's call compiles as written.  */
#ifndef MALLOC_STANDALONE_STDIO_H
#define MALLOC_STANDALONE_STDIO_H

#include_next <stdio.h>

/* Up to 2.27 malloc_stats casts stderr to libio's old name for FILE.  */
typedef struct _IO_FILE _IO_FILE;
#define _IO_FLAGS2_NOTCANCEL 2
#define _IO_flockfile(fp) flockfile (fp)
#define _IO_funlockfile(fp) funlockfile (fp)

enum __libc_message_action
{
  do_message = 0,
  do_abort = 1 << 0,
  /* Up to 2.26 malloc_printerr asks for a backtrace and the memory map
     (up to 2.25 by passing 2 as the int do_abort).  */
  do_backtrace = 1 << 1,
};

extern void __libc_message (enum __libc_message_action action,
			    const char *fmt, ...) attribute_hidden;
extern _Noreturn void __libc_message_impl (const char *fmt, ...)
  attribute_hidden;
#define __libc_message(...)						\
  _Generic ((MALLOC_STANDALONE_FIRST_ARG (__VA_ARGS__, )),		\
	    int: __libc_message,					\
	    default: __libc_message_impl) (__VA_ARGS__)
#define MALLOC_STANDALONE_FIRST_ARG(first, ...) (first)

extern _Noreturn void __libc_fatal (const char *message) attribute_hidden;
extern int __fxprintf (FILE *fp, const char *fmt, ...)
  __attribute__ ((__format__ (__printf__, 2, 3))) attribute_hidden;

#endif
