/* Replaces glibc's sysdeps/unix/sysv/linux/not-cancel.h: the
   non-cancellable I/O malloc, its hugepage probes and its tcache key
   use.  glibc's are inline syscalls or private libc functions; ours call
   syscall(2), which is not a cancellation point.  The _nostatus variants
   leave errno alone, the others set it, as glibc's do.  */
#ifndef NOT_CANCEL_H
#define NOT_CANCEL_H

#include <fcntl.h>
#include <sys/types.h>
#include <sysdep.h>

#define __open_nocancel(path, ...) \
  ((int) syscall (SYS_openat, AT_FDCWD, path, __VA_ARGS__))
#define __open64_nocancel __open_nocancel
#define __read_nocancel(fd, buf, len) \
  ((ssize_t) syscall (SYS_read, fd, buf, len))
#define __pread64_nocancel(fd, buf, len, off) \
  ((ssize_t) syscall (SYS_pread64, fd, buf, len, off))
#define __write_nocancel(fd, buf, len) \
  ((ssize_t) syscall (SYS_write, fd, buf, len))
#define __close_nocancel(fd) ((int) syscall (SYS_close, fd))
#define __close_nocancel_nostatus(fd) \
  ((void) INTERNAL_SYSCALL_CALL (close, fd))
#define __getrandom_nocancel(buf, len, flags) \
  ((ssize_t) syscall (SYS_getrandom, buf, len, flags))
#define __getrandom_nocancel_direct __getrandom_nocancel
#define __getrandom_nocancel_nostatus_direct(buf, len, flags) \
  ((ssize_t) INTERNAL_SYSCALL_CALL (getrandom, buf, len, flags))

#endif
