/* Checks MALLOC_CHECK_=3 in versions whose malloc.c has it (up to 2.33): a one-byte overflow past the requested size is caught by free with "free(): invalid pointer".  */
/* diff: requires malloc_check_in_malloc */
/* diff: case MALLOC_CHECK_=3 MALLOC_CHECK_=3 */
#include "diff.h"

int
main (int argc, char **argv)
{
  diff_init (argc, argv);
  base_at (malloc (24));
  char *p = malloc (30);
  say ("usable size of malloc(30): %zu\n", malloc_usable_size (p));
  free (malloc (100));
  ((volatile char *) p)[30] = 0x42;
  say ("expect: free(): invalid pointer\n");
  free (p);
  say ("not reached\n");
  return 0;
}
