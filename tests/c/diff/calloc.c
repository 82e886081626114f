/* Checks calloc: recycled chunks (tcache, fastbin, small, large, remainders) come back zeroed, where each is taken from, chunks from fresh top memory and mmapped calloc, zero and overflowing sizes, and that perturbing never reaches calloc's memory.  */
/* diff: case default */
/* diff: case perturb MALLOC_PERTURB_=165 */
#include "diff.h"

static int
zeroed (const unsigned char *p, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (p[i] != 0)
      return 0;
  return 1;
}

/* Frees COUNT dirty chunks of N bytes, then callocs them back.  */
static void
recycle (size_t n, int count)
{
  void *p[20];
  for (int i = 0; i < count; i++)
    {
      p[i] = malloc (n);
      memset (p[i], 0xab, malloc_usable_size (p[i]));
      malloc (1);
    }
  for (int i = 0; i < count; i++)
    free (p[i]);
  for (int i = 0; i < count; i++)
    {
      unsigned char *q = calloc (1, n);
      char label[48];
      snprintf (label, sizeof label, "calloc(1, %zu) #%d", n, i);
      show (label, q);
      CHECK (q != NULL && zeroed (q, malloc_usable_size (q)));
    }
}

int
main (int argc, char **argv)
{
  diff_init (argc, argv);
  base_at (malloc (1));

  static const size_t sizes[] = { 24, 100, 500, 1500, 5000 };
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
    recycle (sizes[i], 20);
  info ("recycled");

  /* calloc (2, N) splits a bigger free chunk.  */
  void *big = malloc (10000);
  memset (big, 0xcd, 10000);
  malloc (1);
  free (big);
  for (int i = 0; i < 4; i++)
    {
      unsigned char *q = calloc (2, 700);
      show ("calloc(2, 700)", q);
      CHECK (zeroed (q, malloc_usable_size (q)));
    }

  /* From the top, from a freshly grown heap, and mmapped.  */
  unsigned char *t = calloc (1, 100000);
  show ("calloc(1, 100000)", t);
  CHECK (zeroed (t, 100000));
  unsigned char *m = calloc (1000, 1000);
  show ("calloc(1000, 1000)", m);
  CHECK (zeroed (m, 1000000));
  memset (m, 0xef, 1000000);
  free (m);
  m = calloc (1000, 1000);
  show ("calloc again", m);
  CHECK (zeroed (m, 1000000));
  info ("big");

  /* Zero and overflowing sizes.  */
  show ("calloc(0, 0)", calloc (0, 0));
  show ("calloc(0, 100)", calloc (0, 100));
  errno = 0;
  show ("calloc(SIZE_MAX/2, 3)", calloc (opaque (SIZE_MAX / 2), 3));
  errno = 0;
  show ("calloc(1<<32, 1<<32)",
	calloc (opaque ((size_t) 1 << 32), opaque ((size_t) 1 << 32)));
  errno = 0;
  show ("calloc(1, PTRDIFF_MAX+1)",
	calloc (1, opaque ((size_t) PTRDIFF_MAX + 1)));
  info ("end");
  return 0;
}
