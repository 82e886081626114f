/* Allocates N blocks of each of three sizes: 24 bytes (a tcache or fastbin
   size), 50000 bytes (a largebin size) and 200000 bytes (above the default
   mmap threshold; these are kept, since freeing an mmapped block raises the
   threshold).  Run it under a build with examples/patches/bin-counts: the
   counts printed at exit grow by N per size.  */
#include <stdio.h>
#include <stdlib.h>

int
main (int argc, char **argv)
{
  int n = argc > 1 ? atoi (argv[1]) : 100;
  for (int i = 0; i < n; i++)
    {
      void *volatile small = malloc (24);
      void *volatile large = malloc (50000);
      void *volatile huge = malloc (200000);
      free (small);
      free (large);
      (void) huge;
    }
  printf ("%d allocations of each size\n", n);
  return 0;
}
