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
   run whatever ASLR does.  A region that cannot be mapped there is a fatal
   error; a full region fails like a full brk (glibc then falls back to
   mmap).  Ignored in secure mode (setuid and setgid programs).  */
#include <errno.h>
#include <malloc-standalone-entry.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>		/* __libc_fatal (shims/stdio.h) */
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

/* Parses "<address>:<size>[kMG]"; false if malformed.  */
static bool
parse_region (const char *s, uintptr_t *address, size_t *size)
{
  char *end;
  errno = 0;
  unsigned long long a = strtoull (s, &end, 0);
  if (errno != 0 || end == s || *end != ':')
    return false;
  s = end + 1;
  unsigned long long n = strtoull (s, &end, 0);
  if (errno != 0 || end == s)
    return false;
  int shift = 0;
  switch (*end)
    {
    case 'k': case 'K': shift = 10; end++; break;
    case 'm': case 'M': shift = 20; end++; break;
    case 'g': case 'G': shift = 30; end++; break;
    }
  if (*end != '\0' || n == 0 || n > (SIZE_MAX >> shift))
    return false;
  *address = a;
  *size = (size_t) n << shift;
  return true;
}

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
  if (!parse_region (spec, &address, &size))
    __libc_fatal ("malloc-standalone: MALLOC_STANDALONE_HEAP must be "
		  "<address>:<size>[k|M|G], e.g. 0x500000000000:64M\n");
  uintptr_t page = (uintptr_t) getpagesize ();
  if (address % page != 0 || address == 0)
    __libc_fatal ("malloc-standalone: MALLOC_STANDALONE_HEAP: the address "
		  "must be a non-zero multiple of the page size\n");
  void *p = mmap ((void *) address, size, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE
		  | MAP_FIXED_NOREPLACE, -1, 0);
  if (p == MAP_FAILED || p != (void *) address)
    {
      if (p != MAP_FAILED)
	/* A kernel older than 4.17 takes MAP_FIXED_NOREPLACE as a hint.  */
	munmap (p, size);
      __libc_fatal ("malloc-standalone: MALLOC_STANDALONE_HEAP: cannot map the "
		    "region at that address (in use, or out of range)\n");
    }
  region_start = region_brk = p;
  region_end = region_start + size;
  __morecore = region_morecore;
}
