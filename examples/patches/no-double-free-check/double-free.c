/* Frees one block twice, then allocates twice: glibc 2.29 and later abort
   at the second free ("free(): double free detected in tcache 2"); without
   the check, both allocations get the same block.  */
#include <stdio.h>
#include <stdlib.h>

int
main (void)
{
  setvbuf (stdout, NULL, _IONBF, 0);
  void *volatile p = malloc (24);
  free (p);
  free (p);
  void *a = malloc (24);
  void *b = malloc (24);
  printf ("the double free went unnoticed: %s\n",
          a == b ? "both allocations got the same block" : "two blocks");
  return 0;
}
