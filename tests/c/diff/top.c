/* Checks the top chunk: the heap's size after the first request and its growth by sbrk as requests outgrow the top (M_TOP_PAD), trimming when a free next to the top leaves it above M_TRIM_THRESHOLD, and malloc_trim's return value with and without padding.  */
/* diff: case default */
/* diff: case top_pad=0 MALLOC_TOP_PAD_=0 */
/* diff: case top_pad=1M GLIBC_TUNABLES=glibc.malloc.top_pad=1048576 */
/* diff: case trim=0 MALLOC_TRIM_THRESHOLD_=0 */
/* diff: case trim=1M GLIBC_TUNABLES=glibc.malloc.trim_threshold=1048576 */
#include "diff.h"

#define N 40

static uintptr_t last_brk;

/* Reports the break when it moved.  */
static void
watch (const char *what, int i)
{
  uintptr_t b = brk_now ();
  if (b != last_brk)
    say ("  %s %2d: brk %s to heap%+ld, top=%d\n", what, i,
	 b > last_brk ? "grew" : "shrank", (long) (b - heap_start),
	 mallinfo ().keepcost);
  last_brk = b;
}

int
main (int argc, char **argv)
{
  diff_init (argc, argv);
  base_at (malloc (1));
  info ("first");
  last_brk = brk_now ();

  void *p[N];
  for (int i = 0; i < N; i++)
    {
      p[i] = malloc (20000);
      watch ("malloc", i);
    }
  show ("p[39]", p[N - 1]);
  info ("grown");

  /* From the end: each joins the top.  */
  for (int i = N - 1; i >= N / 2; i--)
    {
      free (p[i]);
      watch ("free", i);
    }
  info ("freed half");
  say ("malloc_trim(0) = %d\n", malloc_trim (0));
  watch ("trim", 0);
  info ("trimmed");

  /* Holes that do not touch the top: malloc_trim returns their whole
     pages to the system (madvise) and says so.  */
  for (int i = 1; i < N / 2 - 1; i += 2)
    free (p[i]);
  info ("holes");
  say ("malloc_trim(0) = %d\n", malloc_trim (0));
  watch ("trim", 1);
  say ("malloc_trim(0) again = %d\n", malloc_trim (0));

  /* Everything but the first, then trimming with padding.  */
  for (int i = 2; i < N / 2; i += 2)
    free (p[i]);
  watch ("free", 2);
  free (p[N / 2 - 1]);
  watch ("free", N / 2 - 1);
  info ("all freed");
  say ("malloc_trim(100000) = %d\n", malloc_trim (100000));
  watch ("trim", 2);
  say ("malloc_trim(0) = %d\n", malloc_trim (0));
  watch ("trim", 3);
  info ("trimmed");

  /* mallopt's padding and threshold.  */
  say ("mallopt(M_TOP_PAD, 0) = %d\n", mallopt (M_TOP_PAD, 0));
  for (int i = 0; i < 8; i++)
    {
      p[i] = malloc (30000);
      watch ("top_pad=0", i);
    }
  say ("mallopt(M_TRIM_THRESHOLD, 0) = %d\n", mallopt (M_TRIM_THRESHOLD, 0));
  for (int i = 7; i >= 0; i--)
    {
      free (p[i]);
      watch ("trim=0", i);
    }
  say ("mallopt(M_TOP_PAD, 200000) = %d\n", mallopt (M_TOP_PAD, 200000));
  say ("mallopt(M_TRIM_THRESHOLD, 1000000) = %d\n",
       mallopt (M_TRIM_THRESHOLD, 1000000));
  for (int i = 0; i < 8; i++)
    {
      p[i] = malloc (30000);
      watch ("top_pad=200000", i);
    }
  for (int i = 7; i >= 0; i--)
    {
      free (p[i]);
      watch ("trim=1000000", i);
    }
  info ("end");
  return 0;
}
