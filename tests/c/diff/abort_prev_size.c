/* Checks that unlinking a free chunk whose size disagrees with the next chunk's prev_size (while consolidating forward on free) aborts with "corrupted size vs. prev_size" (2.26 on).  */
/* diff: requires "corrupted size vs. prev_size" */
#include "diff.h"

int
main (int argc, char **argv)
{
  diff_init (argc, argv);
  base_at (malloc (24));
  /* Too big for the tcache and fastbins.  */
  char *a = malloc (0x4f8), *b = malloc (0x4f8), *c = malloc (0x4f8);
  malloc (1);
  free (b);
  say ("b %s freed: size=%s, c's prev_size=%#zx\n", where (b),
       sizefield (hdr (b)), ((size_t *) c)[-2]);
  poke (c, -2, 0x4f0);
  say ("c's prev_size set to %#zx\n", ((size_t *) c)[-2]);
  say ("expect: corrupted size vs. prev_size\n");
  free (a);
  say ("not reached\n");
  return 0;
}
