/* Checks heap layout: prints where a fixed, single-threaded call sequence puts each chunk, as offsets, to compare with the real glibc of the same version.  */
/* Built with old_start.c and only GLIBC_2.2.5-era symbols (aligned_alloc is
   2.16), so one binary runs on every reference glibc.  Nothing goes through
   stdio: its buffer would be allocated by whichever libc runs the program,
   so lines are formatted into a static buffer and written once at the end.
   Addresses in the main heap are printed relative to the first allocation
   (and the first relative to the heap's start); mmapped chunks by their
   offset in their page.  */
#include <malloc.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char out[1 << 16];
static size_t used;
static uintptr_t heap_start, first;

static void
say (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  int n = vsnprintf (out + used, sizeof out - used, fmt, ap);
  va_end (ap);
  if (n < 0 || (size_t) n >= sizeof out - used)
    {
      static const char msg[] = "offsets: output buffer full\n";
      write (STDERR_FILENO, msg, sizeof msg - 1);
      _exit (2);
    }
  used += n;
}

static void
show (const char *what, int i, void *p)
{
  uintptr_t a = (uintptr_t) p;
  char name[32];
  snprintf (name, sizeof name, i < 0 ? "%s" : "%s[%d]", what, i);
  if (p == NULL)
    say ("%-14s NULL\n", name);
  else if (a >= heap_start && a < (uintptr_t) sbrk (0))
    say ("%-14s first%+ld usable=%zu\n", name, (long) (a - first),
	 malloc_usable_size (p));
  else
    say ("%-14s mmap+0x%lx usable=%zu\n", name, (unsigned long) (a & 0xfff),
	 malloc_usable_size (p));
}

static void
info (const char *when)
{
  struct mallinfo mi = mallinfo ();
  say ("%s: arena=%d ordblks=%d smblks=%d hblks=%d hblkhd=%d fsmblks=%d "
       "uordblks=%d fordblks=%d keepcost=%d\n",
       when, mi.arena, mi.ordblks, mi.smblks, mi.hblks, mi.hblkhd,
       mi.fsmblks, mi.uordblks, mi.fordblks, mi.keepcost);
}

/* How a freed chunk's first word links to the next one: plainly (before
   2.32) or mangled with its own address (safe-linking, 2.32 on); printed
   as an offset so that the output does not depend on where the heap is.  */
static void
link_of (const char *what, void *p)
{
  uintptr_t raw = *(uintptr_t *) p;
  uintptr_t demangled = raw ^ ((uintptr_t) p >> 12);
  uintptr_t end = (uintptr_t) sbrk (0);
  if (raw == 0)
    say ("%-14s link=NULL\n", what);
  else if (raw >= heap_start && raw < end)
    say ("%-14s link=first%+ld plain\n", what, (long) (raw - first));
  else if (demangled == 0)
    say ("%-14s link=NULL mangled\n", what);
  else if (demangled >= heap_start && demangled < end)
    say ("%-14s link=first%+ld mangled\n", what, (long) (demangled - first));
  else
    say ("%-14s link=elsewhere\n", what);
  /* The tcache double-free key (2.29 on): the tcache itself up to 2.33, a
     random value from 2.34.  */
  uintptr_t key = ((uintptr_t *) p)[1];
  if (key >= heap_start && key < end)
    say ("%-14s key=first%+ld\n", what, (long) (key - first));
  else
    say ("%-14s key=%s\n", what, key == 0 ? "0" : "elsewhere");
}

/* A fixed pseudo-random sequence, independent of any libc's rand.  */
static unsigned long state = 12345;
static size_t
next (size_t bound)
{
  state = state * 6364136223846793005UL + 1442695040888963407UL;
  return (size_t) (state >> 33) % bound;
}

int
main (void)
{
  void *p = malloc (1);
  first = (uintptr_t) p;
  heap_start = (uintptr_t) sbrk (0) - (size_t) mallinfo ().arena;
  say ("first at heap%+ld usable=%zu\n", (long) (first - heap_start),
       malloc_usable_size (p));
  info ("start");

  /* A mix of small and medium chunks, some from calloc.  */
  void *v[64];
  for (int i = 0; i < 64; i++)
    {
      size_t n = next (3000);
      v[i] = (i % 7 == 3) ? calloc (n, 1) : malloc (n);
      show (i % 7 == 3 ? "calloc" : "malloc", i, v[i]);
    }
  /* Holes of every kind: tcache, fastbin, unsorted and small bins.  */
  for (int i = 0; i < 64; i += 3)
    free (v[i]);
  info ("holes");
  for (int i = 1; i < 64; i += 3)
    {
      v[i] = realloc (v[i], next (5000));
      show ("realloc", i, v[i]);
    }
  for (int i = 0; i < 24; i++)
    show ("refill", i, malloc (next (600)));

  /* Fill a tcache bin past its count so the rest go to a fastbin (or stay
     in the tcache where the version has no fastbins), then take them back.  */
  void *t[20];
  for (int i = 0; i < 20; i++)
    t[i] = malloc (40);
  for (int i = 0; i < 20; i++)
    free (t[i]);
  for (int i = 0; i < 20; i++)
    {
      char name[16];
      snprintf (name, sizeof name, "freed[%d]", i);
      link_of (name, t[i]);
    }
  for (int i = 0; i < 20; i++)
    show ("tcache", i, t[i] = malloc (40));
  for (int i = 0; i < 20; i++)
    show ("calloc40", i, calloc (1, 40));
  info ("tcache");

  /* Aligned allocations.  */
  show ("memalign64", -1, memalign (64, 100));
  show ("memalign256", -1, memalign (256, 1000));
  void *pm = NULL;
  int rc = posix_memalign (&pm, 4096, 5000);
  say ("posix_memalign rc=%d\n", rc);
  show ("posix_memalign", -1, pm);
  show ("aligned_alloc", -1, aligned_alloc (32, 96));
  show ("valloc", -1, valloc (100));

  /* realloc in place, shrinking, growing into the top, and to zero.  */
  void *r = malloc (100);
  show ("r", -1, r);
  show ("r-shrink", -1, r = realloc (r, 20));
  show ("r-grow", -1, r = realloc (r, 200));
  show ("r-big", -1, r = realloc (r, 20000));
  show ("r-zero", -1, realloc (r, 0));

  /* mmapped chunks, and the dynamic mmap threshold after freeing one.  */
  void *big = malloc (300000);
  show ("big", -1, big);
  free (big);
  void *mid = malloc (200000);
  show ("mid", -1, mid);
  show ("calloc-big", -1, calloc (1000, 1000));
  info ("mmap");

  /* Consolidation and trimming.  */
  free (mid);
  for (int i = 0; i < 64; i++)
    if (i % 3 != 0)
      free (v[i]);
  info ("freed");
  say ("malloc_trim=%d\n", malloc_trim (0));
  info ("trimmed");
  show ("after-trim", -1, malloc (1000));

  write (STDOUT_FILENO, out, used);
  return 0;
}
