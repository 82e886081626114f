/* Checks that freeing a chunk whose size field is below the minimum chunk size aborts with "free(): invalid size".  */
#include "diff.h"

int
main (int argc, char **argv)
{
  diff_init (argc, argv);
  base_at (malloc (24));
  size_t *p = malloc (100);
  malloc (1);
  poke (p, -1, 0x10 | 1);
  say ("size field of %s set to %s\n", where (p), sizefield (p[-1]));
  say ("expect: free(): invalid size\n");
  free (p);
  say ("not reached\n");
  return 0;
}
