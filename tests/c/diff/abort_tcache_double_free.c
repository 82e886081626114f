/* Checks that freeing a chunk that is already in the tcache aborts with "free(): double free detected in tcache 2" (the tcache key, 2.29 on).  */
/* diff: requires tcache_double_free_key */
#include "diff.h"

int
main (int argc, char **argv)
{
  diff_init (argc, argv);
  base_at (malloc (24));
  void *p = malloc (40);
  void *volatile again = p;
  free (p);
  say ("freed %s, key=%s\n", where (p), ptr (((uintptr_t *) p)[1]));
  say ("expect: free(): double free detected in tcache 2\n");
  free (again);
  say ("not reached\n");
  return 0;
}
