/* Checks that freeing a chunk that is not in the tcache or a fastbin twice aborts with "double free or corruption (!prev)" (its neighbour says it is free).  */
#include "diff.h"

int
main (int argc, char **argv)
{
  diff_init (argc, argv);
  base_at (malloc (24));
  char *p = malloc (0x4f8);
  char *next = malloc (24);
  void *volatile again = p;
  free (p);
  say ("%s freed, next chunk's size field %s\n", where (p),
       sizefield (hdr (next)));
  say ("expect: double free or corruption (!prev)\n");
  free (again);
  say ("not reached\n");
  return 0;
}
