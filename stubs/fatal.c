/* Stands in for libc's fatal-error printers that malloc calls:
   __libc_message and __libc_fatal (sysdeps/posix/libc_fatal.c),
   __libc_assert_fail (assert/__libc_assert_fail.c, 2.41 on) and
   __fxprintf (stdio-common/fxprintf.c, used by 2.31's malloc asserts).
   They print what every glibc version prints: the message written to file
   descriptor 2 with writev, only "%s" being a conversion, then abort().
   Up to 2.26 malloc_printerr also asks for a backtrace (do_backtrace, a
   do_abort of 2 up to 2.25): the message then goes to the controlling
   terminal unless LIBC_FATAL_STDERR_ is set (or there is none), followed
   by the backtrace and the memory map, as sysdeps/unix/sysv/linux/
   libc_fatal.c printed them.  (Up to 2.25 glibc sent every message to the
   terminal, also those that do not abort, which malloc only prints with
   MALLOC_CHECK_=1; here those go to standard error.)
   glibc also leaves a copy of the message in __abort_msg for core dumps;
   that variable is the host libc's, so it is not set here.  */
#include <alloca.h>
#include <assert.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <paths.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include <wchar.h>

/* Writes the message to FD; true if all of it was written.  */
static bool
write_message (int fd, const char *fmt, va_list ap)
{
  /* A literal piece before each "%s", the argument, and a tail: glibc's
     callers in malloc pass at most four arguments.  */
  struct iovec iov[16];
  int iovcnt = 0;
  ssize_t total = 0;
  const char *cp = fmt;
  while (*cp != '\0' && iovcnt < (int) (sizeof iov / sizeof iov[0]))
    {
      const char *str = cp;
      size_t len;
      if (cp[0] == '%' && cp[1] == 's')
	{
	  str = va_arg (ap, const char *);
	  len = strlen (str);
	  cp += 2;
	}
      else
	{
	  const char *next = cp + 1;
	  while (*next != '\0' && (next[0] != '%' || next[1] != 's'))
	    next++;
	  len = next - cp;
	  cp = next;
	}
      iov[iovcnt].iov_base = (char *) str;
      iov[iovcnt].iov_len = len;
      total += len;
      iovcnt++;
    }
  if (iovcnt == 0)
    return false;
  ssize_t n;
  do
    n = writev (fd, iov, iovcnt);
  while (n == -1 && errno == EINTR);
  return n == total;
}

/* libc_fatal.c's backtrace_and_maps.  */
static void
backtrace_and_maps (int fd)
{
  void *addrs[64];
  int n = backtrace (addrs, sizeof addrs / sizeof addrs[0]);
  if (n <= 2)
    return;
  static const char bt[] = "======= Backtrace: =========\n";
  static const char maps[] = "======= Memory map: ========\n";
  write (fd, bt, sizeof bt - 1);
  backtrace_symbols_fd (addrs + 1, n - 1, fd);
  write (fd, maps, sizeof maps - 1);
  int fd2 = open ("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  char buf[1024];
  ssize_t got;
  while ((got = read (fd2, buf, sizeof buf)) > 0)
    if (write (fd, buf, got) != got)
      break;
  close (fd2);
}

/* Up to 2.40: __libc_message (do_abort, fmt, ...).  Any non-zero action
   aborts (2.25's malloc passes a bare 2).  The parentheses keep the
   dispatching macro in shims/stdio.h from expanding.  */
void
(__libc_message) (enum __libc_message_action action, const char *fmt, ...)
{
  int fd = -1;
  if (action & do_backtrace)
    {
      const char *on_2 = secure_getenv ("LIBC_FATAL_STDERR_");
      if (on_2 == NULL || *on_2 == '\0')
	fd = open (_PATH_TTY, O_RDWR | O_NOCTTY | O_NDELAY | O_CLOEXEC);
    }
  if (fd == -1)
    fd = STDERR_FILENO;
  va_list ap;
  va_start (ap, fmt);
  bool written = write_message (fd, fmt, ap);
  va_end (ap);
  if (action != do_message)
    {
      if ((action & do_backtrace) && written)
	backtrace_and_maps (fd);
      abort ();
    }
}

/* From 2.41: __libc_message (fmt, ...).  */
void
__libc_message_impl (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  write_message (STDERR_FILENO, fmt, ap);
  va_end (ap);
  abort ();
}

void
__libc_fatal (const char *message)
{
  __libc_message_impl ("%s", message);
}

void
__libc_assert_fail (const char *assertion, const char *file,
		    unsigned int line, const char *function)
{
  char linebuf[3 * sizeof line];
  snprintf (linebuf, sizeof linebuf, "%u", line);
  __libc_message_impl ("Fatal glibc error: %s:%s (%s): assertion failed: %s\n",
		       file, linebuf, function, assertion);
}

/* fprintf to FP (standard error if NULL) that also works on a wide
   stream, converting the format as glibc does.  */
int
__fxprintf (FILE *fp, const char *fmt, ...)
{
  if (fp == NULL)
    fp = stderr;
  va_list ap;
  va_start (ap, fmt);
  flockfile (fp);
  int res;
  if (fwide (fp, 0) <= 0)
    res = vfprintf (fp, fmt, ap);
  else
    {
      size_t len = strlen (fmt) + 1;
      wchar_t *wfmt = alloca (len * sizeof (wchar_t));
      mbstate_t state;
      memset (&state, 0, sizeof state);
      const char *src = fmt;
      if (mbsrtowcs (wfmt, &src, len, &state) == (size_t) -1)
	res = -1;
      else
	res = vfwprintf (fp, wfmt, ap);
    }
  funlockfile (fp);
  va_end (ap);
  return res;
}
