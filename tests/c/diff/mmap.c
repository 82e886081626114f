/* Checks the mmap threshold: which requests are mmapped (IS_MMAPPED, size & 2 in the chunk header) with their sizes and in-page offsets, the dynamic threshold raised by freeing an mmapped chunk (and its 32 MiB limit), M_MMAP_THRESHOLD (which stops the adjustment) and M_MMAP_MAX, and mallinfo's hblks/hblkhd.  */
/* diff: case default */
/* diff: case threshold=64K MALLOC_MMAP_THRESHOLD_=65536 */
/* diff: case tunable-wins MALLOC_MMAP_THRESHOLD_=65536 GLIBC_TUNABLES=glibc.malloc.mmap_threshold=300000 */
/* diff: case mmap_max=0 MALLOC_MMAP_MAX_=0 */
/* diff: case mmap_max=1 GLIBC_TUNABLES=glibc.malloc.mmap_max=1 */
#include "diff.h"

static void *
alloc (size_t n)
{
  void *p = malloc (n);
  char label[48];
  snprintf (label, sizeof label, "malloc(%zu)", n);
  show (label, p);
  return p;
}

int
main (int argc, char **argv)
{
  diff_init (argc, argv);
  base_at (malloc (1));

  /* Around the default threshold (128 KiB).  */
  void *keep[8];
  keep[0] = alloc (131048);
  keep[1] = alloc (131056);
  keep[2] = alloc (131064);
  keep[3] = alloc (131072);
  info ("around 128K");

  /* Freeing an mmapped chunk raises the threshold to its size (and the
     trim threshold to twice that).  */
  void *p = alloc (200000);
  free (p);
  info ("freed 200000");
  void *q = alloc (200000);
  void *r = alloc (300000);
  free (r);
  r = alloc (290000);
  info ("after raising");

  /* Not beyond 32 MiB.  */
  void *huge = alloc (40 << 20);
  free (huge);
  huge = alloc (39 << 20);
  free (huge);
  void *mid = alloc (20 << 20);
  free (mid);
  mid = alloc (19 << 20);
  info ("after 40M and 20M");

  /* A fixed threshold stops the adjustment.  */
  say ("mallopt(M_MMAP_THRESHOLD, 65536) = %d\n",
       mallopt (M_MMAP_THRESHOLD, 65536));
  void *f = alloc (100000);
  free (f);
  f = alloc (100000);
  say ("mallopt(M_MMAP_THRESHOLD, 64M) = %d\n",
       mallopt (M_MMAP_THRESHOLD, 64 << 20));
  say ("mallopt(M_MMAP_THRESHOLD, 32M) = %d\n",
       mallopt (M_MMAP_THRESHOLD, 32 << 20));
  say ("mallopt(M_MMAP_THRESHOLD, 65536) = %d\n",
       mallopt (M_MMAP_THRESHOLD, 65536));

  /* At most M_MMAP_MAX mappings at once.  */
  say ("mallopt(M_MMAP_MAX, 2) = %d\n", mallopt (M_MMAP_MAX, 2));
  void *m[4];
  for (int i = 0; i < 4; i++)
    m[i] = alloc (150000);
  say ("mallopt(M_MMAP_MAX, 0) = %d\n", mallopt (M_MMAP_MAX, 0));
  void *n = alloc (500000);
  say ("mallopt(M_MMAP_MAX, -1) = %d\n", mallopt (M_MMAP_MAX, -1));
  void *o = alloc (500000);
  info ("mmap_max");

  for (int i = 0; i < 4; i++)
    free (keep[i]);
  for (int i = 0; i < 4; i++)
    free (m[i]);
  free (q);
  free (r);
  free (mid);
  free (f);
  free (n);
  free (o);
  info ("end");
  return 0;
}
