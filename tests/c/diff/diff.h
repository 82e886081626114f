/* Helper that checks nothing: what every differential program shares (output, heap offsets, chunk headers, self-checks).  */
/* The differential suite (xtask/src/conformance/differential.rs) runs each
   program in this directory twice, under the real glibc of a version and
   under our libmalloc-glibc-<version>.so on the host, and compares stdout,
   stderr and how the program ended.  So a program must print only what the
   allocator decides, the same way on every run:

   - Nothing goes through stdio's buffers: they would be allocated by
     whichever libc runs the program (the host's under LD_PRELOAD), and a
     libc of another version may ask for other sizes.  say () formats a
     line into a stack buffer and write ()s it at once, so what a program
     printed before it aborts is not lost.
   - Addresses are printed as offsets (ASLR): a main-arena chunk relative
     to the arena's first chunk ("m+N"), a thread-arena chunk relative to
     that arena's first chunk ("t+N"), a pointer into an arena's bins
     relative to a known bin ("bins+N"), an mmapped chunk by its offset in
     its page.  Where the alignment is coarser than a page, positions depend
     on where the kernel put the heap, so only facts are printed.
   - The break is page aligned before the first allocation (diff_init):
     glibc 2.31's ld.so copies GLIBC_TUNABLES with sbrk, so under the real
     2.31 the heap would otherwise start that string's length into a page
     (and the top chunk, the heap's growth and trimming would differ from
     a run where the host's ld.so mapped it).  No malloc has run yet, so
     this is as if the kernel had put the break there.
   - Programs take the version's allocator features as arguments (the
     harness passes the names of the manifest's true features), for what
     they may call (mallinfo2) and what they assert; they never branch on
     a version number.

   CHECK () states what must hold on every version; a failure prints
   "CHECK FAILED" and exits 1, which the harness reports even when both
   runs agree.  Abort programs print "expect: <message>" before they
   corrupt the heap; alternatives separated by '|' name a check that was
   renamed over time, and the first one the version's malloc sources have
   is the message wanted.  */
#ifndef DIFF_H
#define DIFF_H

#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Reading freed chunks and passing odd pointers to free is the point.  */
#pragma GCC diagnostic ignored "-Wuse-after-free"
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#pragma GCC diagnostic ignored "-Wfree-nonheap-object"

/* Not every program uses every helper.  */
#define HELPER static __attribute__ ((unused))

#define SIZE_SZ (sizeof (size_t))
/* glibc's HEAP_MAX_SIZE on 64-bit: thread arenas' heaps are aligned to it.  */
#define THREAD_HEAP_MAX ((uintptr_t) 64 << 20)

static int diff_argc;
static char **diff_argv;

/* The main arena: where the heap starts, and its first chunk (user
   pointer).  */
static uintptr_t heap_start, base;
/* The thread arena being looked at: its heap and its first chunk.  */
static uintptr_t theap, tbase;
/* A pointer into an arena's bins (the unsorted bin), once seen.  */
static uintptr_t bins;

HELPER void
say (const char *fmt, ...)
{
  char line[4096];
  va_list ap;
  va_start (ap, fmt);
  int n = vsnprintf (line, sizeof line, fmt, ap);
  va_end (ap);
  if (n < 0)
    n = 0;
  if ((size_t) n >= sizeof line)
    n = sizeof line - 1;
  for (int done = 0; done < n;)
    {
      ssize_t w = write (STDOUT_FILENO, line + done, n - done);
      if (w <= 0)
	_exit (3);
      done += w;
    }
}

#define CHECK(cond)							\
  do									\
    if (!(cond))							\
      {									\
	say ("CHECK FAILED: %s:%d: %s\n", __FILE__, __LINE__, #cond);	\
	exit (1);							\
      }									\
  while (0)

/* Whether the version has FEATURE (a name from the manifest's features).  */
HELPER int
has (const char *feature)
{
  for (int i = 1; i < diff_argc; i++)
    if (strcmp (diff_argv[i], feature) == 0)
      return 1;
  return 0;
}

HELPER uintptr_t
brk_now (void)
{
  return (uintptr_t) sbrk (0);
}

HELPER void
diff_init (int argc, char **argv)
{
  diff_argc = argc;
  diff_argv = argv;
  uintptr_t b = brk_now ();
  if (b & 4095)
    sbrk (4096 - (b & 4095));
  heap_start = brk_now ();
}

/* A size the compiler cannot see through (no warnings about huge sizes,
   no folding).  */
HELPER size_t
opaque (size_t n)
{
  volatile size_t v = n;
  return v;
}

HELPER size_t
hdr (const void *mem)
{
  return ((const size_t *) mem)[-1];
}

HELPER size_t
csize (const void *mem)
{
  return hdr (mem) & ~(size_t) 7;
}

HELPER int
is_mmapped (const void *mem)
{
  return (hdr (mem) & 2) != 0;
}

HELPER int
in_main_heap (uintptr_t a)
{
  return a >= heap_start && a < brk_now ();
}

HELPER int
in_thread_heap (uintptr_t a)
{
  return theap != 0 && a >= theap && a < theap + THREAD_HEAP_MAX;
}

/* Writes word INDEX of the chunk at MEM (a header field, a link) so that
   the compiler cannot drop it: it does not know that the allocator reads
   memory behind a pointer that never reaches it.  */
HELPER void
poke (void *mem, long index, size_t value)
{
  ((volatile size_t *) mem)[index] = value;
}

/* Rotating buffers, so that several descriptions fit in one say ().  */
HELPER char *
scratch (void)
{
  static char buf[16][64];
  static int next;
  return buf[next++ % 16];
}

/* A pointer value (a link in a freed chunk, say): where it points.  */
HELPER const char *
ptr (uintptr_t a)
{
  char *s = scratch ();
  if (a == 0)
    return "0";
  if (base != 0 && in_main_heap (a))
    snprintf (s, 64, "m%+ld", (long) (a - base));
  else if (tbase != 0 && in_thread_heap (a))
    snprintf (s, 64, "t%+ld", (long) (a - tbase));
  else if (bins != 0 && a + 0x1000 > bins && a < bins + 0x1000)
    snprintf (s, 64, "bins%+ld", (long) (a - bins));
  else
    return "elsewhere";
  return s;
}

/* A chunk that malloc returned: where it is.  */
HELPER const char *
where (const void *mem)
{
  uintptr_t a = (uintptr_t) mem;
  if (mem == NULL)
    return "NULL";
  /* With no base (a thread's chunks in the main arena), only "main".  */
  if (in_main_heap (a))
    return base != 0 ? ptr (a) : "main";
  if (tbase != 0 && in_thread_heap (a))
    return ptr (a);
  char *s = scratch ();
  if (is_mmapped (mem))
    snprintf (s, 64, "mmap@%#lx", (unsigned long) (a & 4095));
  else
    snprintf (s, 64, "unknown");
  return s;
}

/* A chunk header's size field: size and flags (P prev-in-use, M mmapped,
   A non-main arena).  */
HELPER const char *
sizefield (size_t h)
{
  char *s = scratch ();
  snprintf (s, 64, "%#zx%s%s%s", h & ~(size_t) 7, h & 1 ? "|P" : "",
	    h & 2 ? "|M" : "", h & 4 ? "|A" : "");
  return s;
}

/* One allocation: where, its chunk size and flags, its usable size.  */
HELPER void
show (const char *label, const void *mem)
{
  if (mem == NULL)
    say ("%-22s NULL errno=%d\n", label, errno);
  else
    say ("%-22s %-12s size=%-14s usable=%zu\n", label, where (mem),
	 sizefield (hdr (mem)), malloc_usable_size ((void *) mem));
}

/* The main arena's first chunk: everything else is relative to it.  */
HELPER void
base_at (const void *mem)
{
  base = (uintptr_t) mem;
  say ("first chunk at heap%+ld size=%s usable=%zu\n",
       (long) (base - heap_start), sizefield (hdr (mem)),
       malloc_usable_size ((void *) mem));
}

/* A freed chunk's forward link: plain, or mangled with its own address
   (safe-linking, 2.32 on).  */
HELPER const char *
link_of (const void *mem)
{
  uintptr_t raw = *(const uintptr_t *) mem;
  uintptr_t demangled = raw ^ ((uintptr_t) mem >> 12);
  char *s = scratch ();
  if (raw == 0)
    return "0";
  if (strcmp (ptr (raw), "elsewhere") != 0)
    snprintf (s, 64, "%s", ptr (raw));
  else if (demangled == 0)
    snprintf (s, 64, "0(mangled)");
  else if (strcmp (ptr (demangled), "elsewhere") != 0)
    snprintf (s, 64, "%s(mangled)", ptr (demangled));
  else
    return "elsewhere";
  return s;
}

/* mallinfo, as the version's allocator fills it.  */
HELPER void
info (const char *when)
{
  struct mallinfo mi = mallinfo ();
  say ("%s: arena=%d ordblks=%d smblks=%d hblks=%d hblkhd=%d fsmblks=%d "
       "uordblks=%d fordblks=%d keepcost=%d brk=heap%+ld\n",
       when, mi.arena, mi.ordblks, mi.smblks, mi.hblks, mi.hblkhd,
       mi.fsmblks, mi.uordblks, mi.fordblks, mi.keepcost,
       (long) (brk_now () - heap_start));
}

#endif
