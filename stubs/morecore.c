/* Stands in for libc's __sbrk, the only way glibc's morecore grows the main
   arena, and makes `__morecore' (void *(*) (ptrdiff_t), exported on every
   version) the main arena's growth function, as it was up to 2.33:

   - Up to 2.33, malloc.c calls (*__morecore) itself; its default,
     __default_morecore (malloc/morecore.c), calls __sbrk, which here is
     plain sbrk.
   - From 2.34, malloc.c calls __glibc_morecore (malloc/morecore.c), which
     calls __sbrk, and `__morecore' is an unused compatibility variable
     (malloc/hooks.c).  Here __sbrk calls `__morecore' when a program has
     set it (translating its NULL failure to sbrk's -1), and then
     `__after_morecore_hook', as 2.33's sysmalloc and systrim did after
     every successful non-zero call; otherwise plain sbrk.  Which of the
     two a version is, is read off its source: whether it defines
     __glibc_morecore (a weak reference).

   MALLOC_STANDALONE_HEAP=<address>:<size> (size with an optional k, M or G
   suffix) maps <size> bytes at exactly <address> at start-up and makes
   them the main arena's memory: heap addresses are the same from run to
   run whatever ASLR does.  A full region fails like a full brk (glibc then
   falls back to mmap).  A value that does not ask for that exactly stops
   the program before its first allocation, with one message on stderr
   naming the variable, its value, what is wrong and what to write, and
   exit status 127 (as the dynamic loader's own start-up errors): a
   malformed value (no ':', not a number, a sign, a trailing character,
   too large), an address that is not a non-zero multiple of the page
   size, a size below min_region () (which glibc would never use: its first
   growth of the main heap asks for its top pad, 128 KiB by default, and
   the first request on top), and a region that cannot be mapped at that
   address.  The program is not run on with another heap, since the
   variable asks for a heap at a fixed address.  Ignored in secure mode
   (setuid and setgid programs).  */
#include <errno.h>
#include <limits.h>
#include <malloc-standalone-entry.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* glibc's: malloc.c up to 2.33, malloc/hooks.c from 2.34.  (Not hidden:
   a hidden declaration would hide glibc's definition, which 2.31 exports.)  */
extern void *(*__morecore) (ptrdiff_t);
extern void (*__after_morecore_hook) (void) __attribute__ ((weak));
/* From 2.34 only: the main arena's growth function, which calls __sbrk.  */
extern void *__glibc_morecore (ptrdiff_t)
  __attribute__ ((weak)) attribute_hidden;
/* glibc's malloc/morecore.c defines it up to 2.33 (that strong definition
   wins over this weak one); from 2.34 it is only a compatibility name that
   glibc's own build points at __glibc_morecore, which this is equivalent
   to.  */
__attribute__ ((weak)) void *
__default_morecore (ptrdiff_t increment)
{
  void *result = sbrk (increment);
  return result == (void *) -1 ? NULL : result;
}

void *__sbrk (intptr_t increment) attribute_hidden;

void *
__sbrk (intptr_t increment)
{
  if (&__glibc_morecore == NULL)
    /* Up to 2.33: called by __default_morecore only.  */
    return sbrk (increment);
  void *(*grow) (ptrdiff_t) = __morecore;
  void *result;
  if (grow == NULL || grow == __default_morecore)
    result = sbrk (increment);
  else
    {
      result = grow (increment);
      if (result == NULL)
	result = (void *) -1;
    }
  if (result != (void *) -1 && increment != 0 && &__after_morecore_hook != NULL)
    {
      void (*hook) (void) = __after_morecore_hook;
      if (hook != NULL)
	hook ();
    }
  return result;
}

/* The region of MALLOC_STANDALONE_HEAP: [region_start, region_end), with
   the break at region_brk.  Only the main arena's lock holder moves it.  */
static char *region_start, *region_brk, *region_end;

static void *
region_morecore (ptrdiff_t increment)
{
  char *old = region_brk;
  if (increment > 0 ? region_end - old < increment
		    : old - region_start < -increment)
    return NULL;
  region_brk = old + increment;
  if (increment < 0)
    {
      /* Give the pages back, as shrinking the break does.  */
      uintptr_t page = (uintptr_t) getpagesize ();
      uintptr_t from = ((uintptr_t) region_brk + page - 1) & -page;
      if (from < (uintptr_t) old)
	madvise ((void *) from, (uintptr_t) old - from, MADV_DONTNEED);
    }
  return old;
}

/* glibc's DEFAULT_TOP_PAD (malloc.c): the least sysmalloc asks morecore
   for on top of the request.  */
#define TOP_PAD (128 * 1024)

/* The smallest region glibc can use: a top pad and a page (a small first
   request, page-aligned).  */
static size_t
min_region (void)
{
  return TOP_PAD + (size_t) getpagesize ();
}

/* One number of "<address>:<size>" (SIZE says which), in C's notation (0x
   hex, 0 octal, else decimal), without a sign or spaces: NULL with *END
   past it, or why it is not one.  */
static const char *
parse_number (const char *s, unsigned long long *n, char **end, bool size)
{
  if (*s == '-' || *s == '+')
    return size ? "the size has a sign" : "the address has a sign";
  if (*s < '0' || *s > '9')
    return size ? "the size is not a number" : "the address is not a number";
  errno = 0;
  *n = strtoull (s, end, 0);
  if (errno != 0)
    return size ? "the size is too large" : "the address is too large";
  return NULL;
}

/* Parses "<address>:<size>[kMG]"; NULL, or what is wrong.  */
static const char *
parse_region (const char *s, uintptr_t *address, size_t *size)
{
  char *end;
  unsigned long long a, n;
  const char *why = parse_number (s, &a, &end, false);
  if (why != NULL)
    return why;
#if UINTPTR_MAX < ULLONG_MAX
  if (a > UINTPTR_MAX)
    return "the address is too large";
#endif
  if (*end != ':')
    return "no ':' after the address";
  s = end + 1;
  why = parse_number (s, &n, &end, true);
  if (why != NULL)
    return why;
  int shift = 0;
  switch (*end)
    {
    case 'k': case 'K': shift = 10; end++; break;
    case 'm': case 'M': shift = 20; end++; break;
    case 'g': case 'G': shift = 30; end++; break;
    }
  if (*end != '\0')
    return "the size ends in something other than k, M or G";
  if (n > (SIZE_MAX >> shift) || a + ((size_t) n << shift) < a)
    return "the size is too large";
  *address = a;
  *size = (size_t) n << shift;
  return NULL;
}

/* A message that stops the program: "malloc-standalone:
   MALLOC_STANDALONE_HEAP=<spec>: <what><detail>.  <hint>", then exit
   status 127.  Formatted on the stack (nothing may allocate yet).  */
static _Noreturn void
refuse (const char *spec, const char *what, const char *detail,
	const char *hint)
{
  char buf[1024];
  size_t len = 0;
  const char *parts[] = { "malloc-standalone: MALLOC_STANDALONE_HEAP=", spec,
			  ": ", what, detail, ".\n", hint, "\n" };
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
    {
      size_t n = parts[i] == NULL ? 0 : strlen (parts[i]);
      if (n > sizeof buf - 1 - len)
	n = sizeof buf - 1 - len;
      memcpy (buf + len, parts[i], n);
      len += n;
    }
  if (buf[len - 1] != '\n')
    buf[len++] = '\n';
  ssize_t written = write (STDERR_FILENO, buf, len);
  (void) written;
  _exit (127);
}

/* N in k (N is a multiple of 1024 here), as decimal text in BUF.  */
static const char *
kib (char buf[32], size_t n)
{
  char *p = buf + 31;
  *p = '\0';
  *--p = 'k';
  n >>= 10;
  do
    *--p = '0' + n % 10;
  while ((n /= 10) != 0);
  return p;
}

static const char syntax_hint[] =
  "Write <address>:<size>, a page-aligned address and a size in bytes or "
  "with a k, M or G suffix, e.g. 0x500000000000:64M; or unset the variable "
  "for the default heap.";

/* At the first entry into the allocator, before it touches an arena
   (stubs/lifecycle.c).  */
void
__malloc_standalone_morecore_init (bool secure)
{
  /* As before 2.34, `__morecore' reads as the default until a program
     sets it, so that a program can chain to what it replaces.  */
  if (__morecore == NULL)
    __morecore = __default_morecore;
  const char *spec
    = secure ? NULL : __malloc_standalone_getenv ("MALLOC_STANDALONE_HEAP");
  if (spec == NULL || *spec == '\0')
    return;
  uintptr_t address;
  size_t size;
  const char *why = parse_region (spec, &address, &size);
  if (why != NULL)
    refuse (spec, "not <address>:<size>: ", why, syntax_hint);
  uintptr_t page = (uintptr_t) getpagesize ();
  if (address % page != 0 || address == 0)
    refuse (spec, "the address must be a non-zero multiple of the page size",
	    NULL, syntax_hint);
  if (size < min_region ())
    {
      char k[32];
      refuse (spec, "the region is too small: the least glibc can use is ",
	      kib (k, min_region ()),
	      "glibc's first growth of the main heap asks for its top pad "
	      "(128k) and the first request; a smaller region would never be "
	      "used.  Give a larger size.");
    }
  void *p = mmap ((void *) address, size, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE
		  | MAP_FIXED_NOREPLACE, -1, 0);
  if (p == MAP_FAILED || p != (void *) address)
    {
      int error = p == MAP_FAILED ? errno : EEXIST;
      if (p != MAP_FAILED)
	/* A kernel older than 4.17 takes MAP_FIXED_NOREPLACE as a hint.  */
	munmap (p, size);
      refuse (spec, "cannot map the region at that address: ",
	      error == EEXIST ? "something is mapped there already"
	      : error == ENOMEM ? "out of the address space or of memory"
	      : "the kernel refused it",
	      "Pick another address (see /proc/<pid>/maps for what is "
	      "in use) or a smaller size.");
    }
  region_start = region_brk = p;
  region_end = region_start + size;
  __morecore = region_morecore;
}
