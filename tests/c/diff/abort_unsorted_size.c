/* Checks that a chunk in the unsorted bin with an impossible size aborts the next malloc that looks at it with "malloc(): invalid size (unsorted)" (before 2.29 the same check said "malloc(): memory corruption").  */
#include "diff.h"

int
main (int argc, char **argv)
{
  diff_init (argc, argv);
  base_at (malloc (24));
  size_t *p = malloc (0x4f8);
  malloc (1);
  free (p);
  say ("%s in the unsorted bin: size=%s\n", where (p), sizefield (p[-1]));
  poke (p, -1, ((size_t) 1 << 40) | 1);
  say ("expect: malloc(): invalid size (unsorted)|malloc(): memory corruption\n");
  malloc (0x100);
  say ("not reached\n");
  return 0;
}
