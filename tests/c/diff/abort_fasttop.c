/* Checks that freeing the chunk at the top of its fastbin again (the tcache of its size being full) aborts with "double free or corruption (fasttop)".  */
/* diff: requires fastbins */
#include "diff.h"

int
main (int argc, char **argv)
{
  diff_init (argc, argv);
  base_at (malloc (24));
  void *p[40];
  for (int i = 0; i < 40; i++)
    p[i] = malloc (40);
  /* Free until one lands in a fastbin rather than the tcache.  */
  int i = 0;
  while (mallinfo ().smblks == 0)
    {
      CHECK (i < 40);
      free (p[i++]);
    }
  void *volatile top = p[i - 1];
  say ("%s is at the top of its fastbin after %d frees\n", where (top), i);
  say ("expect: double free or corruption (fasttop)\n");
  free (top);
  say ("not reached\n");
  return 0;
}
