/* Checks __morecore, exported by every version's .so: it reads as
   __default_morecore, it grows the main arena, a program can point it at a
   region of its own (or chain to what it replaces), a full region makes
   malloc fall back to mmap, and malloc_trim shrinks through it.  Runs under
   LD_PRELOAD of our .so; prints what the test compares (addresses only
   where they are meant to be the same from run to run).
     morecore default   -- __morecore's start value; where the heap is
     morecore region    -- the main heap in a fixed region; trim
     morecore chain     -- a wrapper chaining to the previous __morecore
     morecore exhaust   -- a 1 MiB region that runs out
     morecore plain     -- a few allocations' addresses, nothing set  */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <malloc.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

typedef void *(*morecore_fn) (ptrdiff_t);

static morecore_fn *morecore;
static char *region, *volatile region_brk;
static size_t region_size;
/* volatile: the compiler takes free () for a call that changes no global.  */
static volatile long grows, shrinks, queries;

static void
fail (const char *what)
{
  printf ("FAIL: %s\n", what);
  exit (1);
}

static void *
region_morecore (ptrdiff_t increment)
{
  char *old = region_brk;
  if (increment > 0 ? (size_t) increment > region_size - (size_t) (old - region)
		    : (size_t) -increment > (size_t) (old - region))
    return NULL;
  if (increment > 0)
    grows++;
  else if (increment < 0)
    shrinks++;
  else
    queries++;
  region_brk = old + increment;
  return old;
}

static morecore_fn previous;

static void *
chained_morecore (ptrdiff_t increment)
{
  if (increment > 0)
    grows++;
  return previous (increment);
}

static void
map_region (uintptr_t address, size_t size)
{
  region = mmap ((void *) address, size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (region != (char *) address)
    fail ("mmap of the region");
  region_brk = region;
  region_size = size;
}

static int
in_region (const void *p)
{
  return (const char *) p >= region && (const char *) p < region + region_size;
}

/* Where the brk heap is: between the program's end and the break.  */
static int
in_brk_heap (const void *p)
{
  extern char end;
  return (const char *) p >= &end && (const char *) p < (char *) sbrk (0);
}

int
main (int argc, char **argv)
{
  const char *mode = argc > 1 ? argv[1] : "plain";
  morecore = dlsym (RTLD_DEFAULT, "__morecore");
  morecore_fn dflt = (morecore_fn) dlsym (RTLD_DEFAULT, "__default_morecore");
  if (morecore == NULL || dflt == NULL)
    fail ("__morecore and __default_morecore are not exported");

  if (strcmp (mode, "default") == 0)
    {
      printf ("__morecore starts as __default_morecore: %s\n",
	      *morecore == dflt ? "yes" : "no");
      void *p = malloc (1000);
      printf ("heap in brk: %s\n", in_brk_heap (p) ? "yes" : "no");
      free (p);
    }
  else if (strcmp (mode, "region") == 0)
    {
      map_region (0x600000000000, 64 << 20);
      /* Fill the brk heap's top first, so that what follows needs more.  */
      *morecore = region_morecore;
      void *p[64];
      for (int i = 0; i < 64; i++)
	{
	  p[i] = malloc (4096 * (i + 1));
	  memset (p[i], i, 4096 * (i + 1));
	}
      int inside = 0;
      for (int i = 0; i < 64; i++)
	inside += in_region (p[i]);
      printf ("in the region: %d of 64, first at region+%#lx\n", inside,
	      (unsigned long) ((char *) p[0] - region));
      /* Those above the mmap threshold are mmap's (and ASLR's).  */
      printf ("addresses:");
      for (int i = 0; i < 32; i += 4)
	printf (" %p", p[i]);
      printf ("\n");
      /* free trims the top once it passes the trim threshold; malloc_trim
	 trims the rest.  */
      long before = shrinks;
      size_t used_before = region_brk - region;
      for (int i = 0; i < 64; i++)
	free (p[i]);
      malloc_trim (0);
      printf ("free and malloc_trim shrank the region: %s (break %s)\n",
	      shrinks > before ? "yes" : "no",
	      (size_t) (region_brk - region) < used_before ? "lower" : "same");
      printf ("grew: %s, asked: %s\n", grows > 0 ? "yes" : "no",
	      queries > 0 ? "yes" : "no");
    }
  else if (strcmp (mode, "chain") == 0)
    {
      previous = *morecore;
      *morecore = chained_morecore;
      char *p = malloc (1 << 16);
      for (int i = 0; i < 200; i++)
	p = malloc (8192);
      printf ("chained calls: %s, heap in brk: %s\n", grows > 0 ? "yes" : "no",
	      in_brk_heap (p) ? "yes" : "no");
    }
  else if (strcmp (mode, "exhaust") == 0)
    {
      map_region (0x600000000000, 1 << 20);
      *morecore = region_morecore;
      enum { N = 64, SIZE = 64 << 10 };
      char *p[N];
      int outside = 0;
      for (int i = 0; i < N; i++)
	{
	  p[i] = malloc (SIZE);
	  if (p[i] == NULL)
	    fail ("malloc returned NULL");
	  memset (p[i], i, SIZE);
	  outside += !in_region (p[i]);
	}
      for (int i = 0; i < N; i++)
	for (int j = 0; j < SIZE; j += 512)
	  if (p[i][j] != (char) i)
	    fail ("data changed");
      printf ("after the region ran out, chunks outside it: %s; data intact\n",
	      outside > 0 && outside < N ? "yes" : "no");
    }
  else if (strcmp (mode, "plain") == 0)
    {
      for (int i = 1; i <= 4; i++)
	printf ("%p\n", malloc (100 * i));
    }
  else
    fail ("unknown mode");
  return 0;
}
