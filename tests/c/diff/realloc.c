/* Checks realloc: shrinking in place (with and without a split remainder), growing in place into a free neighbour or the top, moving (the old chunk freed, contents kept), realloc(NULL, n), realloc(p, 0), mmapped chunks (mremap, shrink, to the heap), failures on impossible sizes, and reallocarray's overflow check.  */
/* diff: allow reallocarray@GLIBC_2.26 */
#include "diff.h"

static void
fill (unsigned char *p, size_t n, unsigned char seed)
{
  for (size_t i = 0; i < n; i++)
    p[i] = (unsigned char) (seed + i);
}

static int
kept (const unsigned char *p, size_t n, unsigned char seed)
{
  for (size_t i = 0; i < n; i++)
    if (p[i] != (unsigned char) (seed + i))
      return 0;
  return 1;
}

/* realloc (P, N), printed; checks that the first KEEP bytes survived.  */
static void *
re (const char *label, void *p, size_t n, size_t keep, unsigned char seed)
{
  void *q = realloc (p, n);
  int saved = errno;
  char what[64];
  snprintf (what, sizeof what, "%s %zu", label, n);
  show (what, q);
  if (q != NULL && p != NULL)
    {
      /* Whether mremap moved a mapping depends on the address space.  */
      if (!is_mmapped (q))
	say ("  %s\n", q == p ? "in place" : "moved");
      CHECK (kept (q, keep, seed));
    }
  errno = saved;
  return q;
}

int
main (int argc, char **argv)
{
  diff_init (argc, argv);
  base_at (malloc (1));

  /* Shrinking: a remainder too small to split, then one that splits.  */
  void *p = malloc (1000);
  void *guard = malloc (1);
  fill (p, 1000, 1);
  p = re ("shrink", p, 990, 990, 1);
  p = re ("shrink", p, 500, 500, 1);
  info ("after shrinking");
  /* Growing into the remainder freed by the shrink.  */
  p = re ("grow", p, 900, 500, 1);
  /* Growing past a used neighbour: moved.  */
  p = re ("grow", p, 3000, 500, 1);
  info ("after moving");

  /* Growing into a free neighbour (freed, not in the tcache: too big).  */
  void *a = malloc (2000);
  void *b = malloc (2000);
  malloc (1);
  fill (a, 2000, 2);
  free (b);
  a = re ("into neighbour", a, 3500, 2000, 2);
  a = re ("beyond neighbour", a, 4500, 2000, 2);

  /* Growing into the top.  */
  void *t = malloc (100);
  fill (t, 100, 3);
  t = re ("into top", t, 50000, 100, 3);
  t = re ("top again", t, 100000, 100, 3);
  info ("after top");

  /* NULL and zero.  */
  void *n = re ("from NULL", NULL, 40, 0, 0);
  errno = 0;
  void *z = realloc (n, 0);
  say ("realloc(p, 0) = %s errno=%d\n", where (z), errno);
  void *tiny = re ("tiny", malloc (8), 1, 0, 0);

  /* mmapped chunks.  */
  void *m = malloc (200000);
  fill (m, 200000, 4);
  show ("mmapped", m);
  m = re ("mmapped grow", m, 400000, 200000, 4);
  m = re ("mmapped shrink", m, 300000, 200000, 4);
  m = re ("mmapped to small", m, 1000, 1000, 4);
  info ("after mmapped");

  /* Impossible sizes fail and leave the chunk alone.  */
  errno = 0;
  void *f = realloc (t, opaque (SIZE_MAX - 100));
  say ("realloc(t, SIZE_MAX-100) = %s errno=%d\n", where (f), errno);
  errno = 0;
  f = realloc (t, opaque ((size_t) PTRDIFF_MAX + 1));
  say ("realloc(t, PTRDIFF_MAX+1) = %s errno=%d\n", where (f), errno);
  CHECK (kept (t, 100, 3));
  errno = 0;
  f = reallocarray (t, opaque (SIZE_MAX / 2), 3);
  say ("reallocarray(t, SIZE_MAX/2, 3) = %s errno=%d\n", where (f), errno);
  f = reallocarray (t, opaque (1000), 3);
  show ("reallocarray(t, 1000, 3)", f);
  CHECK (f != NULL && kept (f, 100, 3));

  free (guard);
  free (p);
  free (a);
  free (f);
  free (tiny);
  free (m);
  info ("end");
  return 0;
}
