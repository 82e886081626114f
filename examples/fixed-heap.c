/* The whole main heap in a region of our own, at a fixed address: heap
   addresses are then the same from run to run, whatever ASLR does.

   Build and run (with any version's .so):
     cc -O2 -o fixed-heap examples/fixed-heap.c
     LD_PRELOAD=$PWD/target/malloc/libmalloc-glibc-2.36.so ./fixed-heap

   __morecore (void *(*) (ptrdiff_t), exported by every version's .so, as
   glibc had it up to 2.33, found here with dlsym so that the program needs
   no link against a particular .so) grows the main arena: like sbrk, it moves a
   break by INCREMENT bytes (0 asks where it is, a negative value shrinks)
   and returns the old break, or NULL when it cannot.  It is set here in a
   constructor: before it runs, the loader and libc may already have
   allocated a few chunks from the ordinary heap.  To have every
   allocation of an unmodified program in a fixed region, set
   MALLOC_STANDALONE_HEAP=<address>:<size> instead
   (docs/experimenting.md).  */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define REGION_ADDRESS ((char *) 0x600000000000)
#define REGION_SIZE (64UL << 20)

static char *brk_now = REGION_ADDRESS;

static void *
region_morecore (ptrdiff_t increment)
{
  char *old = brk_now;
  if (increment > 0 ? (size_t) increment > REGION_SIZE - (size_t) (old - REGION_ADDRESS)
		    : (size_t) -increment > (size_t) (old - REGION_ADDRESS))
    return NULL;
  brk_now = old + increment;
  return old;
}

__attribute__ ((constructor)) static void
use_region (void)
{
  void *p = mmap (REGION_ADDRESS, REGION_SIZE, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (p != REGION_ADDRESS)
    {
      perror ("mmap at " "0x600000000000");
      exit (1);
    }
  /* The preloaded allocator's; the host's libc has only an unused
     compatibility symbol of that name from 2.34 on.  */
  void *(**morecore) (ptrdiff_t) = dlsym (RTLD_DEFAULT, "__morecore");
  Dl_info where;
  if (morecore == NULL || dladdr (morecore, &where) == 0
      || strstr (where.dli_fname, "libmalloc-glibc-") == NULL)
    {
      fprintf (stderr, "run me with LD_PRELOAD=.../libmalloc-glibc-<version>.so\n");
      exit (1);
    }
  *morecore = region_morecore;
}

int
main (void)
{
  for (int i = 0; i < 4; i++)
    {
      char *s = malloc (100 * (i + 1));
      strcpy (s, "hello");
      printf ("malloc (%d) = %p\n", 100 * (i + 1), (void *) s);
    }
  return 0;
}
