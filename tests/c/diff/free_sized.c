/* Checks free_sized and free_aligned_sized (2.43 on): they free like free, whatever size and alignment they are told, so the chunks come back from the same places.  */
/* diff: requires free_sized */
/* diff: allow aligned_alloc@GLIBC_2.16 */
#include "diff.h"

/* The host's libc may not have them: weak and unversioned, bound at run
   time to the version's (libc's or our .so's).  */
extern void free_sized (void *, size_t) __attribute__ ((weak));
extern void free_aligned_sized (void *, size_t, size_t)
  __attribute__ ((weak));

int
main (int argc, char **argv)
{
  diff_init (argc, argv);
  base_at (malloc (24));
  CHECK (free_sized != NULL && free_aligned_sized != NULL);
  static const size_t sizes[] = { 24, 100, 1000, 5000, 300000 };
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
    {
      size_t n = sizes[i];
      void *p = malloc (n), *q = malloc (n);
      malloc (1);
      free_sized (p, n);
      free_sized (q, 1);	/* a wrong size is not checked */
      char label[48];
      snprintf (label, sizeof label, "malloc(%zu) after free_sized", n);
      show (label, malloc (n));
      show (label, malloc (n));
      void *a = aligned_alloc (64, n);
      free_aligned_sized (a, 64, n);
      snprintf (label, sizeof label, "aligned_alloc(64, %zu) again", n);
      show (label, aligned_alloc (64, n));
    }
  free_sized (NULL, 10);
  free_aligned_sized (NULL, 64, 10);
  info ("end");
  return 0;
}
