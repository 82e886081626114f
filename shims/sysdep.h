/* Replaces glibc's sysdeps/.../sysdep.h (assembler syscall macros) with
   the one macro our C uses: INTERNAL_SYSCALL_CALL returns -errno on
   failure and leaves errno alone.  glibc inlines the syscall instruction;
   this goes through the public syscall(2) and puts errno back.
   glibc's sysdep.h also drags in tls.h and with it <stdbool.h> and
   <string.h>, which sources written against it (malloc-hugepages.c)
   rely on.  */
#ifndef MALLOC_STANDALONE_SYSDEP_H
#define MALLOC_STANDALONE_SYSDEP_H

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define INTERNAL_SYSCALL_CALL(name, ...)				\
  ({									\
    int __saved_errno = errno;						\
    long int __ret = syscall (__NR_##name, __VA_ARGS__);		\
    if (__ret == -1)							\
      {									\
	__ret = -errno;							\
	errno = __saved_errno;						\
      }									\
    __ret;								\
  })

#endif
