/* Checks that a tcache link (safe-linking, 2.32 on) that leads to a misaligned chunk aborts the malloc that would return it with "malloc(): unaligned tcache chunk detected".  */
/* diff: requires safe_linking */
#include "diff.h"

int
main (int argc, char **argv)
{
  diff_init (argc, argv);
  base_at (malloc (24));
  uintptr_t *a = malloc (40), *b = malloc (40);
  free (a);
  free (b);
  say ("tcache: %s -> %s\n", where (b), link_of (b));
  /* Mangled as glibc does: the link's address shifted, xored in.  */
  poke (b, 0, ((uintptr_t) b >> 12) ^ ((uintptr_t) a + 8));
  say ("b's link now %s\n", link_of (b));
  show ("first malloc(40)", malloc (40));
  say ("expect: malloc(): unaligned tcache chunk detected\n");
  malloc (40);
  say ("not reached\n");
  return 0;
}
