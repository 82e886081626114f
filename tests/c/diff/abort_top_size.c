/* Checks that a request served from a top chunk whose size field is larger than the arena aborts with "malloc(): corrupted top size" (2.29 on).  */
/* diff: requires "malloc(): corrupted top size" */
#include "diff.h"

int
main (int argc, char **argv)
{
  diff_init (argc, argv);
  base_at (malloc (24));
  char *p = malloc (1000);
  size_t *top = (size_t *) (p + csize (p));
  say ("top after %s: size=%s (keepcost %d)\n", where (p),
       sizefield (top[-1]), mallinfo ().keepcost);
  poke (top, -1, (size_t) -1);
  say ("expect: malloc(): corrupted top size\n");
  malloc (2000);
  say ("not reached\n");
  return 0;
}
