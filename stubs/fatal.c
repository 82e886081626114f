/* Stands in for libc's fatal-error printers that malloc calls:
   __libc_message and __libc_fatal (sysdeps/posix/libc_fatal.c),
   __libc_assert_fail (assert/__libc_assert_fail.c, 2.41 on) and
   __fxprintf (stdio-common/fxprintf.c, used by 2.31's malloc asserts).
   They print what every glibc version prints: the message written to file
   descriptor 2 with writev, only "%s" being a conversion, then abort().
   glibc also leaves a copy of the message in __abort_msg for core dumps;
   that variable is the host libc's, so it is not set here.  */
#include <alloca.h>
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include <wchar.h>

static void
write_message (const char *fmt, va_list ap)
{
  /* A literal piece before each "%s", the argument, and a tail: glibc's
     callers in malloc pass at most four arguments.  */
  struct iovec iov[16];
  int iovcnt = 0;
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
      iovcnt++;
    }
  if (iovcnt > 0)
    {
      ssize_t n;
      do
	n = writev (STDERR_FILENO, iov, iovcnt);
      while (n == -1 && errno == EINTR);
    }
}

/* Up to 2.40: __libc_message (do_abort, fmt, ...).  The parentheses keep
   the dispatching macro in shims/stdio.h from expanding.  */
void
(__libc_message) (enum __libc_message_action action, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  write_message (fmt, ap);
  va_end (ap);
  if (action & do_abort)
    abort ();
}

/* From 2.41: __libc_message (fmt, ...).  */
void
__libc_message_impl (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  write_message (fmt, ap);
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
