/* The tracer of the `trace' build option (`resolver build --trace').
   MALLOC_STANDALONE_TRACE=<file> switches it on at run time: from the first
   entry into the allocator every call of an exported entry point
   (stubs/options/entry.c), the program's and libc's own (strdup, fopen,
   ...), is written to <file>.  MALLOC_STANDALONE_TRACE_FORMAT picks the
   format:
   - mtrace (the default): what glibc's mtrace () wrote (malloc/mtrace.c),
     so that glibc's `mtrace' script reads it: "= Start", then per call
     "@ <file>:(<symbol>+0x<offset>)[<caller>] " and "+ <ptr> <size>",
     "- <ptr>", "< <old>" and "> <new> <size>" for a realloc that moved,
     "! <old> <size>" for one that failed.
   - jsonl: one JSON object per line, a header and then one record per
     call with its sequence number, CLOCK_MONOTONIC time, thread, operation,
     arguments, result and caller (docs/experimenting.md, "Tracing").
   Each record is formatted on the stack and written with one write (2) to
   a file opened O_APPEND, so threads never tear each other's lines; the
   tracer never allocates, and calls made while it runs (dladdr, say) are
   not traced.  A "%p" in <file> stands for the process id: each process,
   forked or executed, then writes a file of its own; without one, a child
   after fork continues in <file>.<child pid>.  Setuid and setgid programs
   ignore both variables, as glibc's mtrace () ignored MALLOC_TRACE.

   The tracer never blocks the program or writes where it should not.  It
   writes only a regular file that is new or has a single link: a symbolic
   link at the path (O_NOFOLLOW), a FIFO, a device, a socket, a directory,
   or a file with other hard links (whose contents truncating would destroy
   under every name) is refused with one message on stderr naming the
   variable, the path and why, and tracing is off while the program runs
   on.  The path is checked with lstat before it is opened (so a device is
   not even opened), then opened with O_NONBLOCK (a FIFO cannot block it
   even if it appears in between; cleared after), O_NOCTTY and O_CLOEXEC
   and without O_TRUNC, checked again with fstat, and only then truncated.
   Since only a regular file is ever traced, <file>.<pid> is only ever
   created next to one: a refused target turns tracing off in the children
   too.  Symbolic links among the directories of the path are followed, as
   by any program writing to a path it is given (the kernel's
   fs.protected_symlinks already stops following another user's link in a
   sticky world-writable directory such as /tmp).  The first failed write
   (a full disk, a file size limit) is reported once, with its reason, and
   tracing stops there for good: the trace ends early, never with a gap.  */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <malloc-standalone-entry.h>
#include "trace.h"

#ifndef MALLOC_STANDALONE_GLIBC_VERSION
# error "the trace option defines MALLOC_STANDALONE_GLIBC_VERSION"
#endif

bool __malloc_standalone_tracing;

static int trace_fd = -1;
static bool jsonl;
/* MALLOC_STANDALONE_TRACE's value, and the file this process writes.  */
static char trace_path[PATH_MAX];
static char trace_file[PATH_MAX];
/* Set (once) when a write failed: nothing is written after that.  */
static bool write_failed;
static unsigned long long seq;
static __thread bool inside __attribute__ ((tls_model ("initial-exec")));

/* A line being formatted.  */
struct line
{
  char buf[1024];
  size_t len;
};

static void
put (struct line *l, const char *s)
{
  size_t n = strlen (s);
  if (n > sizeof l->buf - l->len)
    n = sizeof l->buf - l->len;
  memcpy (l->buf + l->len, s, n);
  l->len += n;
}

static void
put_char (struct line *l, char c)
{
  if (l->len < sizeof l->buf)
    l->buf[l->len++] = c;
}

static void
put_unsigned (struct line *l, unsigned long long v, unsigned base)
{
  char tmp[24];
  int i = sizeof tmp;
  do
    {
      tmp[--i] = "0123456789abcdef"[v % base];
      v /= base;
    }
  while (v != 0);
  while (i < (int) sizeof tmp)
    put_char (l, tmp[i++]);
}

/* printf's %#lx: "0" for 0, else 0x and lowercase hex.  */
static void
put_hex (struct line *l, unsigned long long v)
{
  if (v != 0)
    put (l, "0x");
  put_unsigned (l, v, 16);
}

/* printf's %p: "(nil)" for NULL.  */
static void
put_pointer (struct line *l, const void *p)
{
  if (p == NULL)
    put (l, "(nil)");
  else
    put_hex (l, (uintptr_t) p);
}

/* A JSON string (quotes, backslashes and control characters escaped).  */
static void
put_json_string (struct line *l, const char *s)
{
  put_char (l, '"');
  for (; *s != '\0'; s++)
    {
      unsigned char c = *s;
      if (c == '"' || c == '\\')
	{
	  put_char (l, '\\');
	  put_char (l, c);
	}
      else if (c < 0x20)
	{
	  put (l, "\\u00");
	  put_char (l, "0123456789abcdef"[c >> 4]);
	  put_char (l, "0123456789abcdef"[c & 15]);
	}
      else
	put_char (l, c);
    }
  put_char (l, '"');
}

static void
put_json_pointer (struct line *l, const char *key, const void *p)
{
  put (l, ",\"");
  put (l, key);
  put (l, "\":\"0x");
  put_unsigned (l, (uintptr_t) p, 16);
  put_char (l, '"');
}

static void
put_json_number (struct line *l, const char *key, unsigned long long v)
{
  put (l, ",\"");
  put (l, key);
  put (l, "\":");
  put_unsigned (l, v, 10);
}

/* The reason of an error number, without strerror, which may allocate
   (translated or unknown messages): the errors open, fstat, ftruncate and
   write can give here, in glibc's words.  */
static void
put_error (struct line *l, int error)
{
  static const struct
  {
    int error;
    const char *text;
  } texts[] =
  {
    { EACCES, "Permission denied" },
    { EPERM, "Operation not permitted" },
    { ENOENT, "No such file or directory" },
    { ENOTDIR, "Not a directory" },
    { EISDIR, "Is a directory" },
    { ELOOP, "Too many levels of symbolic links" },
    { ENAMETOOLONG, "File name too long" },
    { EROFS, "Read-only file system" },
    { ETXTBSY, "Text file busy" },
    { ENXIO, "No such device or address" },
    { ENODEV, "No such device" },
    { EMFILE, "Too many open files" },
    { ENFILE, "Too many open files in system" },
    { ENOSPC, "No space left on device" },
    { EDQUOT, "Disk quota exceeded" },
    { EFBIG, "File too large" },
    { EIO, "Input/output error" },
    { EPIPE, "Broken pipe" },
    { EAGAIN, "Resource temporarily unavailable" },
    { EBADF, "Bad file descriptor" },
    { EINVAL, "Invalid argument" },
    { ENOMEM, "Cannot allocate memory" },
    { EOVERFLOW, "Value too large for defined data type" },
  };
  for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
    if (texts[i].error == error)
      {
	put (l, texts[i].text);
	return;
      }
  put (l, "error ");
  put_unsigned (l, error, 10);
}

/* Starts a message on stderr: "malloc-standalone:
   MALLOC_STANDALONE_TRACE=<value>: ", and FILE if it is not the value.  */
static void
message_start (struct line *l, const char *file)
{
  put (l, "malloc-standalone: MALLOC_STANDALONE_TRACE=");
  put (l, trace_path);
  put (l, ": ");
  if (file != NULL && strcmp (file, trace_path) != 0)
    {
      put (l, file);
      put (l, ": ");
    }
}

static void
message_end (struct line *l, const char *end)
{
  put (l, end);
  if (l->len == sizeof l->buf)
    l->buf[l->len - 1] = '\n';
  ssize_t n = write (STDERR_FILENO, l->buf, l->len);
  (void) n;
}

/* The first failed write (ERROR, or 0 for a write that wrote nothing):
   reported once, and tracing stops for good.  */
static void
write_error (int error)
{
  __malloc_standalone_tracing = false;
  if (__atomic_exchange_n (&write_failed, true, __ATOMIC_RELAXED))
    return;
  struct line l = { .len = 0 };
  message_start (&l, trace_file);
  put (&l, "cannot write the trace: ");
  if (error != 0)
    put_error (&l, error);
  else
    put (&l, "nothing was written");
  message_end (&l, "; tracing stopped here (the trace ends early)\n");
}

static void
emit (struct line *l)
{
  if (__atomic_load_n (&write_failed, __ATOMIC_RELAXED))
    return;
  const char *p = l->buf;
  size_t left = l->len;
  while (left > 0)
    {
      ssize_t n = write (trace_fd, p, left);
      if (n < 0 && errno == EINTR)
	continue;
      if (n <= 0)
	{
	  write_error (n < 0 ? errno : 0);
	  return;
	}
      p += n;
      left -= n;
    }
}

/* A message on stderr, for what makes tracing impossible: WHAT (e.g.
   "must be ...") and a detail (DETAIL, or ERROR's reason).  */
static void
complain (const char *file, const char *what, const char *detail, int error)
{
  struct line l = { .len = 0 };
  message_start (&l, file);
  put (&l, what);
  if (detail != NULL)
    put (&l, detail);
  if (error != 0)
    put_error (&l, error);
  message_end (&l, "; tracing is off\n");
}

static void
header (pid_t parent)
{
  struct line l = { .len = 0 };
  if (!jsonl)
    put (&l, "= Start\n");
  else
    {
      put (&l, "{\"op\":\"start\",\"format\":1,\"version\":\"");
      put (&l, MALLOC_STANDALONE_GLIBC_VERSION);
      put_char (&l, '"');
      put_json_number (&l, "pid", getpid ());
      if (parent != 0)
	put_json_number (&l, "parent", parent);
      char exe[PATH_MAX];
      ssize_t n = readlink ("/proc/self/exe", exe, sizeof exe - 1);
      if (n > 0)
	{
	  exe[n] = '\0';
	  put (&l, ",\"exe\":");
	  put_json_string (&l, exe);
	}
      put (&l, "}\n");
    }
  emit (&l);
}

/* Why the file ST describes is not one to trace to, or NULL.  */
static const char *
unsuitable (const struct stat *st)
{
  if (S_ISREG (st->st_mode))
    return st->st_nlink > 1
	   ? "it has other hard links, whose contents truncating it would "
	     "destroy too (give the path of a new file)"
	   : NULL;
  if (S_ISLNK (st->st_mode))
    return "it is a symbolic link, which is not followed (give the path "
	   "of a regular file)";
  if (S_ISFIFO (st->st_mode))
    return "it is a FIFO, not a regular file (give the path of a regular "
	   "file, or of a new one)";
  if (S_ISCHR (st->st_mode))
    return "it is a character device, not a regular file (give the path "
	   "of a regular file, or of a new one)";
  if (S_ISBLK (st->st_mode))
    return "it is a block device, not a regular file (give the path of a "
	   "regular file, or of a new one)";
  if (S_ISDIR (st->st_mode))
    return "it is a directory (give the path of a file in it)";
  if (S_ISSOCK (st->st_mode))
    return "it is a socket, not a regular file (give the path of a "
	   "regular file, or of a new one)";
  return "it is not a regular file (give the path of a regular file, or "
	 "of a new one)";
}

/* Opens PATH as the trace: a new file, or an existing regular file with a
   single link, emptied (see the top of the file).  False, with a message,
   for anything else.  */
static bool
open_trace (const char *path)
{
  struct stat st;
  const char *why;
  if (lstat (path, &st) == 0 && (why = unsuitable (&st)) != NULL)
    {
      complain (path, "", why, 0);
      return false;
    }
  int fd = open (path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW
		 | O_NONBLOCK | O_NOCTTY, 0666);
  if (fd < 0)
    {
      int error = errno;
      complain (path, "cannot open it: ", error == ELOOP
		? "it is a symbolic link, which is not followed" : NULL,
		error == ELOOP ? 0 : error);
      return false;
    }
  if (fstat (fd, &st) != 0)
    {
      complain (path, "cannot open it: ", NULL, errno);
      close (fd);
      return false;
    }
  if ((why = unsuitable (&st)) != NULL)
    {
      complain (path, "", why, 0);
      close (fd);
      return false;
    }
  int flags = fcntl (fd, F_GETFL);
  if (flags == -1 || fcntl (fd, F_SETFL, flags & ~O_NONBLOCK) != 0
      || ftruncate (fd, 0) != 0)
    {
      complain (path, "cannot empty it: ", NULL, errno);
      close (fd);
      return false;
    }
  trace_fd = fd;
  strcpy (trace_file, path);
  return true;
}

/* PATTERN with its first "%p" replaced by the process id (so that each
   program a traced program executes gets a file of its own).  */
static void
expand_pid (char out[PATH_MAX], const char *pattern)
{
  const char *p = strstr (pattern, "%p");
  struct line l = { .len = 0 };
  if (p == NULL)
    put (&l, pattern);
  else
    {
      memcpy (l.buf, pattern, p - pattern);
      l.len = p - pattern;
      put_unsigned (&l, getpid (), 10);
      put (&l, p + 2);
    }
  if (l.len >= PATH_MAX)
    l.len = PATH_MAX - 1;
  memcpy (out, l.buf, l.len);
  out[l.len] = '\0';
}

/* At the first entry into the allocator (stubs/lifecycle.c).  */
void
__malloc_standalone_trace_init (bool secure)
{
  if (secure)
    return;
  const char *path = __malloc_standalone_getenv ("MALLOC_STANDALONE_TRACE");
  if (path == NULL || *path == '\0')
    return;
  const char *format
    = __malloc_standalone_getenv ("MALLOC_STANDALONE_TRACE_FORMAT");
  if (format == NULL || *format == '\0' || strcmp (format, "mtrace") == 0)
    jsonl = false;
  else if (strcmp (format, "jsonl") == 0)
    jsonl = true;
  else
    {
      struct line l = { .len = 0 };
      put (&l, "malloc-standalone: MALLOC_STANDALONE_TRACE_FORMAT=");
      put (&l, format);
      message_end (&l, ": must be mtrace or jsonl; tracing is off\n");
      return;
    }
  if (strlen (path) >= sizeof trace_path - 24)
    {
      struct line l = { .len = 0 };
      put (&l, "malloc-standalone: MALLOC_STANDALONE_TRACE=");
      put (&l, path);
      message_end (&l, ": the path is too long (give a shorter one); "
		   "tracing is off\n");
      return;
    }
  strcpy (trace_path, path);
  char expanded[PATH_MAX];
  expand_pid (expanded, trace_path);
  if (!open_trace (expanded))
    return;
  header (0);
  __malloc_standalone_tracing = !write_failed;
}

/* In the child after fork (stubs/lifecycle.c): its own file.  */
void
__malloc_standalone_trace_fork_child (void)
{
  if (!__malloc_standalone_tracing)
    return;
  __malloc_standalone_tracing = false;
  close (trace_fd);
  trace_fd = -1;
  char path[PATH_MAX];
  struct line l = { .len = 0 };
  if (strstr (trace_path, "%p") != NULL)
    expand_pid (path, trace_path);
  else
    {
      put (&l, trace_path);
      put_char (&l, '.');
      put_unsigned (&l, getpid (), 10);
      memcpy (path, l.buf, l.len);
      path[l.len] = '\0';
    }
  if (!open_trace (path))
    return;
  seq = 0;
  header (getppid ());
  __malloc_standalone_tracing = !write_failed;
}

static const char *const op_names[] =
{
  [TRACE_MALLOC] = "malloc",
  [TRACE_CALLOC] = "calloc",
  [TRACE_REALLOC] = "realloc",
  [TRACE_REALLOCARRAY] = "reallocarray",
  [TRACE_FREE] = "free",
  [TRACE_FREE_SIZED] = "free_sized",
  [TRACE_FREE_ALIGNED_SIZED] = "free_aligned_sized",
  [TRACE_MEMALIGN] = "memalign",
  [TRACE_ALIGNED_ALLOC] = "aligned_alloc",
  [TRACE_POSIX_MEMALIGN] = "posix_memalign",
  [TRACE_VALLOC] = "valloc",
  [TRACE_PVALLOC] = "pvalloc",
};

static void
jsonl_record (struct line *l, const struct trace_call *c)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  put (l, "{\"seq\":");
  put_unsigned (l, __atomic_fetch_add (&seq, 1, __ATOMIC_RELAXED), 10);
  put_json_number (l, "t_ns", ts.tv_sec * 1000000000ULL + ts.tv_nsec);
  put_json_number (l, "tid", syscall (SYS_gettid));
  put (l, ",\"op\":\"");
  put (l, op_names[c->op]);
  put_char (l, '"');
  switch (c->op)
    {
    case TRACE_CALLOC:
      put_json_number (l, "nmemb", c->nmemb);
      put_json_number (l, "size", c->size);
      break;
    case TRACE_REALLOC:
      put_json_pointer (l, "ptr", c->ptr);
      put_json_number (l, "size", c->size);
      break;
    case TRACE_REALLOCARRAY:
      put_json_pointer (l, "ptr", c->ptr);
      put_json_number (l, "nmemb", c->nmemb);
      put_json_number (l, "size", c->size);
      break;
    case TRACE_FREE:
      put_json_pointer (l, "ptr", c->ptr);
      break;
    case TRACE_FREE_SIZED:
      put_json_pointer (l, "ptr", c->ptr);
      put_json_number (l, "size", c->size);
      break;
    case TRACE_FREE_ALIGNED_SIZED:
      put_json_pointer (l, "ptr", c->ptr);
      put_json_number (l, "alignment", c->alignment);
      put_json_number (l, "size", c->size);
      break;
    case TRACE_MEMALIGN:
    case TRACE_ALIGNED_ALLOC:
      put_json_number (l, "alignment", c->alignment);
      put_json_number (l, "size", c->size);
      break;
    case TRACE_POSIX_MEMALIGN:
      put_json_number (l, "alignment", c->alignment);
      put_json_number (l, "size", c->size);
      put (l, ",\"result\":");
      put_unsigned (l, c->result, 10);
      break;
    case TRACE_MALLOC:
    case TRACE_VALLOC:
    case TRACE_PVALLOC:
      put_json_number (l, "size", c->size);
      break;
    }
  if (c->op != TRACE_FREE && c->op != TRACE_FREE_SIZED
      && c->op != TRACE_FREE_ALIGNED_SIZED)
    put_json_pointer (l, "ret", c->ret);
  put_json_pointer (l, "caller", c->caller);
  put (l, "}\n");
}

/* glibc's tr_where: "@ <file>:(<symbol>+0x<offset>)[<caller>] ".  */
static void
mtrace_where (struct line *l, const void *caller)
{
  if (caller == NULL)
    return;
  Dl_info info;
  put (l, "@ ");
  if (dladdr (caller, &info) != 0)
    {
      if (info.dli_fname != NULL)
	{
	  put (l, info.dli_fname);
	  put_char (l, ':');
	}
      if (info.dli_sname != NULL)
	{
	  put_char (l, '(');
	  put (l, info.dli_sname);
	  bool after = caller >= info.dli_saddr;
	  put (l, after ? "+0x" : "-0x");
	  put_unsigned (l, after ? (uintptr_t) caller - (uintptr_t) info.dli_saddr
			: (uintptr_t) info.dli_saddr - (uintptr_t) caller, 16);
	  put_char (l, ')');
	}
    }
  put_char (l, '[');
  put_pointer (l, caller);
  put (l, "] ");
}

static void
mtrace_alloc (struct line *l, const struct trace_call *c, size_t size)
{
  mtrace_where (l, c->caller);
  put (l, "+ ");
  put_pointer (l, c->ret);
  put_char (l, ' ');
  put_hex (l, size);
  put_char (l, '\n');
}

/* What glibc's mtrace hooks wrote for the call.  */
static void
mtrace_record (struct line *l, const struct trace_call *c)
{
  switch (c->op)
    {
    case TRACE_FREE:
    case TRACE_FREE_SIZED:
    case TRACE_FREE_ALIGNED_SIZED:
      if (c->ptr == NULL)
	return;
      mtrace_where (l, c->caller);
      put (l, "- ");
      put_pointer (l, c->ptr);
      put_char (l, '\n');
      return;
    case TRACE_CALLOC:
      mtrace_alloc (l, c, c->nmemb * c->size);
      return;
    case TRACE_REALLOC:
    case TRACE_REALLOCARRAY:
      {
	size_t size = c->op == TRACE_REALLOC ? c->size : c->nmemb * c->size;
	mtrace_where (l, c->caller);
	if (c->ret == NULL)
	  {
	    put (l, size != 0 ? "! " : "- ");
	    put_pointer (l, c->ptr);
	    if (size != 0)
	      {
		put_char (l, ' ');
		put_hex (l, size);
	      }
	    put_char (l, '\n');
	  }
	else if (c->ptr == NULL)
	  {
	    put (l, "+ ");
	    put_pointer (l, c->ret);
	    put_char (l, ' ');
	    put_hex (l, size);
	    put_char (l, '\n');
	  }
	else
	  {
	    put (l, "< ");
	    put_pointer (l, c->ptr);
	    put_char (l, '\n');
	    mtrace_where (l, c->caller);
	    put (l, "> ");
	    put_pointer (l, c->ret);
	    put_char (l, ' ');
	    put_hex (l, size);
	    put_char (l, '\n');
	  }
	return;
      }
    case TRACE_POSIX_MEMALIGN:
      if (c->result != 0)
	return;
      /* Fall through.  */
    case TRACE_MALLOC:
    case TRACE_MEMALIGN:
    case TRACE_ALIGNED_ALLOC:
    case TRACE_VALLOC:
    case TRACE_PVALLOC:
      mtrace_alloc (l, c, c->size);
      return;
    }
}

void
__malloc_standalone_trace (const struct trace_call *c)
{
  if (inside)
    return;
  inside = true;
  int saved_errno = errno;
  struct line l = { .len = 0 };
  if (jsonl)
    jsonl_record (&l, c);
  else
    mtrace_record (&l, c);
  if (l.len > 0)
    emit (&l);
  errno = saved_errno;
  inside = false;
}
