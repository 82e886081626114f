/* Replaces glibc's include/errno.h: the public header plus __set_errno.
   glibc reads and writes errno inside libc as a TLS variable at a fixed
   offset from the thread pointer; a program's (and this library's)
   <errno.h> calls __errno_location () each time instead, which free (),
   saving and restoring errno around its work, does twice per call.  libc's
   TLS is in the static TLS block of every thread, so errno's offset from
   the thread pointer is the same for all of them: stubs/lifecycle.c learns
   it at the first entry into the allocator, and errno here is an access at
   that offset in the %fs segment (the call before then).  */
#include_next <errno.h>

#ifndef MALLOC_STANDALONE_ERRNO_H
# define MALLOC_STANDALONE_ERRNO_H

extern long int __malloc_standalone_errno_offset attribute_hidden;

/* errno's address in the fs segment: libc's TLS block is addressed from
   the thread pointer, which is the base of %fs on x86_64, so GCC's __seg_fs
   address space makes each access one load of the offset and one
   %fs-relative access, as libc's own initial-exec errno (which loads its
   offset from the GOT).  */
static inline __attribute__ ((always_inline)) int __seg_fs *
__malloc_standalone_errno_location (void)
{
  long int offset = __malloc_standalone_errno_offset;
  if (__builtin_expect (offset == 0, 0))
    return (int __seg_fs *) ((char *) __errno_location ()
			     - (char *) __builtin_thread_pointer ());
  return (int __seg_fs *) offset;
}

# undef errno
# define errno (*__malloc_standalone_errno_location ())
#endif

#ifndef __set_errno
# define __set_errno(val) (errno = (val))
#endif
