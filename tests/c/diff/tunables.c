/* Checks that tunables (GLIBC_TUNABLES) and the MALLOC_*_ variables take effect as in the real glibc, parser quirks included: under each environment setting (one case each) it measures the top padding, the tcache's capacity and largest size, the fastbin limit, perturbing, MALLOC_CHECK_, the mmap threshold and trimming.  */
/* diff: case default */
/* diff: case tcache_count=0 GLIBC_TUNABLES=glibc.malloc.tcache_count=0 */
/* diff: case tcache_count=100 GLIBC_TUNABLES=glibc.malloc.tcache_count=100 */
/* diff: case tcache_count=70000 GLIBC_TUNABLES=glibc.malloc.tcache_count=70000 */
/* diff: case tcache_max=64 GLIBC_TUNABLES=glibc.malloc.tcache_max=64 */
/* diff: case tcache_max=4096 GLIBC_TUNABLES=glibc.malloc.tcache_max=4096 */
/* diff: case mxfast=0 GLIBC_TUNABLES=glibc.malloc.mxfast=0 */
/* diff: case perturb=165 GLIBC_TUNABLES=glibc.malloc.perturb=165 */
/* diff: case MALLOC_PERTURB_=90 MALLOC_PERTURB_=90 */
/* diff: case MALLOC_TOP_PAD_=0 MALLOC_TOP_PAD_=0 */
/* diff: case top_pad=1M GLIBC_TUNABLES=glibc.malloc.top_pad=1048576 */
/* diff: case alias-and-tunable MALLOC_TOP_PAD_=0 GLIBC_TUNABLES=glibc.malloc.top_pad=1048576 */
/* diff: case alias-and-out-of-range MALLOC_PERTURB_=90 GLIBC_TUNABLES=glibc.malloc.perturb=300 */
/* diff: case MALLOC_MMAP_THRESHOLD_=65536 MALLOC_MMAP_THRESHOLD_=65536 */
/* diff: case mmap_threshold=1M GLIBC_TUNABLES=glibc.malloc.mmap_threshold=1048576 */
/* diff: case mmap_threshold-too-big GLIBC_TUNABLES=glibc.malloc.mmap_threshold=99999999999 */
/* diff: case MALLOC_MMAP_MAX_=0 MALLOC_MMAP_MAX_=0 */
/* diff: case MALLOC_TRIM_THRESHOLD_=0 MALLOC_TRIM_THRESHOLD_=0 */
/* diff: case trim_threshold=1M GLIBC_TUNABLES=glibc.malloc.trim_threshold=1048576 */
/* diff: case MALLOC_CHECK_=3 MALLOC_CHECK_=3 */
/* diff: case several GLIBC_TUNABLES=glibc.malloc.tcache_count=2:glibc.malloc.mxfast=32:glibc.malloc.top_pad=0 */
/* diff: case duplicate GLIBC_TUNABLES=glibc.malloc.tcache_count=2:glibc.malloc.tcache_count=5 */
/* diff: case value-with-equals GLIBC_TUNABLES=glibc.malloc.tcache_count=3=4 */
/* diff: case trailing-junk GLIBC_TUNABLES=glibc.malloc.tcache_count=5abc */
/* diff: case hex GLIBC_TUNABLES=glibc.malloc.tcache_count=0x3 */
/* diff: case no-value GLIBC_TUNABLES=glibc.malloc.top_pad=0:glibc.malloc.tcache_count */
/* diff: case unknown-name GLIBC_TUNABLES=glibc.malloc.nonsense=1:glibc.malloc.tcache_count=4 */
#include "diff.h"

#define MAXN 130

static void *chunks[MAXN];

/* How many chunks of N bytes a run of frees leaves in the tcache: the
   frees before mallinfo's free bytes move (the tcache's chunks count as
   in use).  The chunks are taken back afterwards.  */
static int
tcache_capacity (size_t n)
{
  for (int i = 0; i < MAXN; i++)
    chunks[i] = malloc (n);
  malloc (1);
  int before = mallinfo ().fordblks, kept = MAXN;
  for (int i = 0; i < MAXN; i++)
    {
      free (chunks[i]);
      if (kept == MAXN && mallinfo ().fordblks != before)
	kept = i;
    }
  for (int i = 0; i < MAXN; i++)
    malloc (n);
  return kept;
}

int
main (int argc, char **argv)
{
  diff_init (argc, argv);
  /* Top padding: how far the first request moves the break.  */
  base_at (malloc (24));
  info ("first");

  say ("tcache keeps %d of 24, %d of 1000\n", tcache_capacity (24),
       tcache_capacity (1000));

  /* The largest request the tcache takes.  */
  size_t largest = 0;
  for (size_t n = 8; n <= 8200; n += 16)
    {
      void *p = malloc (n);
      malloc (1);
      int before = mallinfo ().fordblks;
      free (p);
      if (mallinfo ().fordblks == before)
	largest = n;
      malloc (n);
    }
  say ("largest request the tcache takes: %zu\n", largest);

  /* The largest request that reaches a fastbin once the tcache of its
     size is full.  */
  size_t fast = 0;
  for (size_t n = 8; n <= 200; n += 16)
    {
      for (int i = 0; i < MAXN; i++)
	chunks[i] = malloc (n);
      malloc (1);
      for (int i = 0; i < MAXN; i++)
	free (chunks[i]);
      if (mallinfo ().smblks != 0)
	fast = n;
      for (int i = 0; i < MAXN; i++)
	malloc (n);
    }
  say ("largest request a fastbin takes: %zu\n", fast);
  info ("bins");

  /* Perturbing: fresh memory, and freed memory beyond the links.  */
  unsigned char *p = malloc (3000);
  malloc (1);
  say ("new:   %02x %02x\n", p[40], p[2000]);
  memset (p, 0x11, 3000);
  free (p);
  say ("freed: %02x %02x\n", p[40], p[2000]);

  /* MALLOC_CHECK_ (in malloc.c up to 2.33) keeps a byte of each chunk.  */
  void *c = malloc (24);
  say ("usable size of malloc(24): %zu\n", malloc_usable_size (c));

  /* The mmap threshold: the smallest multiple of 4 KiB mmapped (kept,
     so that no free raises the threshold).  */
  size_t threshold = 0;
  for (size_t n = 4096; n <= (2 << 20) && threshold == 0; n += 4096)
    {
      void *q = malloc (n);
      if (is_mmapped (q))
	threshold = n;
      else
	free (q);
    }
  say ("smallest mmapped request: %zu\n", threshold);
  info ("mmap");

  /* Trimming: freeing from the end, when the break first moves back.  */
  void *t[40];
  for (int i = 0; i < 40; i++)
    t[i] = malloc (30000);
  uintptr_t grown = brk_now ();
  int first_trim = -1;
  for (int i = 39; i >= 0; i--)
    {
      free (t[i]);
      if (first_trim < 0 && brk_now () != grown)
	first_trim = 39 - i;
    }
  say ("the break moved back after %d frees\n", first_trim);
  info ("end");
  return 0;
}
