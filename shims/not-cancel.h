/* Replaces glibc's sysdeps/unix/sysv/linux/not-cancel.h: the
   non-cancellable calls malloc makes to read /proc and /sys and to seed
   its tcache key.  glibc's are private libc functions or inline syscalls;
   ours call syscall(2), which is not a cancellation point.  Up to 2.26
   they were macros with other names (open_not_cancel_2, ...).  The _nostatus
   variants leave errno alone, the others set it, as glibc's do.  */
#ifndef NOT_CANCEL_H
#define NOT_CANCEL_H

#include <fcntl.h>
#include <stdarg.h>
#include <sys/types.h>
#include <sysdep.h>

static inline int
__open_nocancel (const char *path, int flags, ...)
{
  va_list ap;
  va_start (ap, flags);
  int mode = (flags & (O_CREAT | __O_TMPFILE)) ? va_arg (ap, int) : 0;
  va_end (ap);
  return syscall (SYS_openat, AT_FDCWD, path, flags, mode);
}
#define __open64_nocancel __open_nocancel

static inline ssize_t
__read_nocancel (int fd, void *buf, size_t len)
{
  return syscall (SYS_read, fd, buf, len);
}

static inline ssize_t
__pread64_nocancel (int fd, void *buf, size_t len, off_t offset)
{
  return syscall (SYS_pread64, fd, buf, len, offset);
}

static inline int
__close_nocancel (int fd)
{
  return syscall (SYS_close, fd);
}

static inline void
__close_nocancel_nostatus (int fd)
{
  INTERNAL_SYSCALL_CALL (close, fd);
}

static inline ssize_t
__getrandom_nocancel (void *buf, size_t len, unsigned int flags)
{
  return syscall (SYS_getrandom, buf, len, flags);
}

/* 2.39 and 2.40; 2.41 renamed it with a _direct suffix.  */
static inline ssize_t
__getrandom_nocancel_nostatus (void *buf, size_t len, unsigned int flags)
{
  return INTERNAL_SYSCALL_CALL (getrandom, buf, len, flags);
}

static inline ssize_t
__getrandom_nocancel_nostatus_direct (void *buf, size_t len,
				      unsigned int flags)
{
  return INTERNAL_SYSCALL_CALL (getrandom, buf, len, flags);
}

/* The names up to 2.26: macros over the functions above.  */
#define open_not_cancel(name, flags, mode) \
  __open_nocancel (name, flags, mode)
#define open_not_cancel_2(name, flags) __open_nocancel (name, flags)
#define read_not_cancel(fd, buf, n) __read_nocancel (fd, buf, n)
#define close_not_cancel(fd) __close_nocancel (fd)
#define close_not_cancel_no_status(fd) __close_nocancel_nostatus (fd)

#endif
