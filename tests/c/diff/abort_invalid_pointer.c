/* Checks that freeing a misaligned pointer aborts with "free(): invalid pointer".  */
#include "diff.h"

int
main (int argc, char **argv)
{
  diff_init (argc, argv);
  base_at (malloc (24));
  char *p = malloc (100);
  memset (p, 0, 100);
  say ("expect: free(): invalid pointer\n");
  free (p + 8);
  say ("not reached\n");
  return 0;
}
