/* Replaces glibc's include/unistd.h: the public header plus
   __libc_enable_secure (AT_SECURE), defined in stubs/lifecycle.c, and
   __sbrk, the main arena's break, defined in stubs/morecore.c.  */
#include_next <unistd.h>

#ifndef MALLOC_STANDALONE_UNISTD_H
# define MALLOC_STANDALONE_UNISTD_H
extern int __libc_enable_secure attribute_hidden;
extern void *__sbrk (intptr_t __delta) attribute_hidden;
#endif
