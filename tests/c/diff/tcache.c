/* Checks the tcache per size class: how many frees of one size it keeps before chunks spill to a fastbin or the unsorted bin (mallinfo), its links and keys, and the LIFO order in which malloc and calloc take the chunks back.  */
/* diff: case default */
/* diff: case count=3 GLIBC_TUNABLES=glibc.malloc.tcache_count=3 */
/* diff: case count=0 GLIBC_TUNABLES=glibc.malloc.tcache_count=0 */
/* diff: case max=100 GLIBC_TUNABLES=glibc.malloc.tcache_max=100 */
#include "diff.h"

#define N 24

static int
index_of (void *q, void *const *p)
{
  for (int i = 0; i < N; i++)
    if (p[i] == q)
      return i;
  return -1;
}

int
main (int argc, char **argv)
{
  diff_init (argc, argv);
  base_at (malloc (1));
  static const size_t sizes[] =
    { 24, 40, 56, 100, 120, 136, 200, 488, 1000, 1032, 1033, 1500 };
  for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++)
    {
      size_t n = sizes[k];
      void *p[N];
      for (int i = 0; i < N; i++)
	p[i] = malloc (n);
      void *guard = malloc (1);
      say ("size %zu: p[0] %s size=%s stride %ld, guard %s\n", n,
	   where (p[0]), sizefield (hdr (p[0])),
	   (long) ((char *) p[1] - (char *) p[0]), where (guard));

      struct mallinfo before = mallinfo ();
      int kept = -1;
      for (int i = 0; i < N; i++)
	{
	  free (p[i]);
	  struct mallinfo mi = mallinfo ();
	  if (kept < 0 && mi.fordblks != before.fordblks)
	    kept = i;
	  say ("  free p[%2d]: smblks=%d fsmblks=%d ordblks=%d fordblks%+d "
	       "link=%s key=%s\n", i, mi.smblks, mi.fsmblks, mi.ordblks,
	       mi.fordblks - before.fordblks, link_of (p[i]),
	       ptr (((uintptr_t *) p[i])[1]));
	}
      if (kept < 0)
	kept = N;
      say ("  the tcache kept %d\n", kept);

      /* Back in LIFO order from the tcache, then from the bins.  Every
	 fifth through calloc, which takes from the tcache from 2.41 on.  */
      void *q[N];
      for (int i = 0; i < N; i++)
	{
	  int by_calloc = i % 5 == 4;
	  q[i] = by_calloc ? calloc (1, n) : malloc (n);
	  say ("  %s %2d: %-10s = p[%d]\n", by_calloc ? "calloc" : "malloc",
	       i, where (q[i]), index_of (q[i], p));
	}
      for (int i = 0; i < kept && i < 4; i++)
	CHECK (q[i] == p[kept - 1 - i]);
    }
  info ("end");
  return 0;
}
