/* Checks that consolidating backward into a free chunk whose size disagrees with prev_size aborts with "corrupted size vs. prev_size while consolidating" (2.29 on; from 2.26, unlinking that chunk catches it with "corrupted size vs. prev_size").  */
/* diff: requires "corrupted size vs. prev_size" */
#include "diff.h"

int
main (int argc, char **argv)
{
  diff_init (argc, argv);
  base_at (malloc (24));
  size_t *a = malloc (0x4f8), *b = malloc (0x4f8);
  malloc (1);
  free (a);
  say ("a %s freed: size=%s, b's prev_size=%#zx, b's size=%s\n", where (a),
       sizefield (hdr (a)), b[-2], sizefield (hdr (b)));
  poke (a, -1, 0x510 | 1);
  say ("a's size set to %s\n", sizefield (hdr (a)));
  say ("expect: corrupted size vs. prev_size while consolidating|corrupted size vs. prev_size\n");
  free (b);
  say ("not reached\n");
  return 0;
}
