/* Checks that freeing an mmapped chunk whose prev_size field (its offset in the mapping) was corrupted aborts with "munmap_chunk(): invalid pointer".  */
#include "diff.h"

int
main (int argc, char **argv)
{
  diff_init (argc, argv);
  base_at (malloc (24));
  size_t *p = malloc (300000);
  show ("malloc(300000)", p);
  CHECK (is_mmapped (p));
  poke (p, -2, 8);
  say ("expect: munmap_chunk(): invalid pointer\n");
  free (p);
  say ("not reached\n");
  return 0;
}
