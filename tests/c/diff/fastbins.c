/* Checks fastbins and consolidation: chunks that spill from a full tcache into fastbins (or, without fastbins, the unsorted bin), their links and LIFO reuse, M_MXFAST, and malloc_consolidate on a large request, on freeing a large chunk next to the top, and in mallopt.  */
/* diff: case default */
/* diff: case mxfast=0 GLIBC_TUNABLES=glibc.malloc.mxfast=0 */
/* diff: case mxfast=160 GLIBC_TUNABLES=glibc.malloc.mxfast=160 */
#include "diff.h"

#define N 20

/* N chunks of N bytes each, then a guard so none touches the top.  */
static void
alloc_run (void **p, size_t n)
{
  for (int i = 0; i < N; i++)
    p[i] = malloc (n);
  malloc (1);
}

static void
free_run (const char *what, void **p, int from, int to)
{
  for (int i = from; i < to; i++)
    {
      free (p[i]);
      struct mallinfo mi = mallinfo ();
      say ("  %s free p[%2d] %-8s: smblks=%d fsmblks=%d ordblks=%d "
	   "fordblks=%d link=%s\n", what, i, where (p[i]), mi.smblks,
	   mi.fsmblks, mi.ordblks, mi.fordblks, link_of (p[i]));
    }
}

int
main (int argc, char **argv)
{
  diff_init (argc, argv);
  base_at (malloc (1));

  /* Which sizes reach a fastbin once the tcache of their size is full.  */
  static const size_t sizes[] = { 24, 40, 72, 104, 120, 136, 152, 168 };
  for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++)
    {
      void *p[N];
      alloc_run (p, sizes[k]);
      say ("size %zu (chunk %s):\n", sizes[k], sizefield (hdr (p[0])));
      free_run ("", p, 0, N);
      info ("  freed");
      /* LIFO: the tcache's, then the fastbin's (moving what is left of
	 the fastbin into the tcache).  */
      for (int i = 0; i < N; i++)
	{
	  void *q = malloc (sizes[k]);
	  say ("  malloc %2d: %s\n", i, where (q));
	}
      info ("  taken back");
    }

  /* malloc_consolidate through a large request (a large-bin size).  */
  void *a[N], *b[N];
  alloc_run (a, 40);
  alloc_run (b, 88);
  free_run ("a", a, 0, N);
  free_run ("b", b, 0, N);
  info ("before a large request");
  void *big = malloc (2000);
  show ("large request", big);
  info ("after a large request");

  /* Fastbins again, then a chunk of 64 KiB or more freed next to the top
     (FASTBIN_CONSOLIDATION_THRESHOLD).  */
  alloc_run (a, 40);
  void *last = malloc (70000);
  show ("70000 next to top", last);
  free_run ("a", a, 0, N);
  info ("before freeing it");
  free (last);
  info ("after freeing it");

  /* mallopt consolidates before it changes anything.  */
  alloc_run (a, 56);
  free_run ("a", a, 0, N);
  info ("before mallopt");
  say ("mallopt(M_MXFAST, 0) = %d\n", mallopt (M_MXFAST, 0));
  info ("after mallopt");
  alloc_run (a, 24);
  free_run ("mxfast=0", a, 0, N);
  say ("mallopt(M_MXFAST, 128) = %d\n", mallopt (M_MXFAST, 128));
  alloc_run (a, 24);
  free_run ("mxfast=128", a, 0, N);
  info ("end");
  return 0;
}
