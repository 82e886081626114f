/* A small program whose heap `resolver view` draws in the README
   (docs/view.png, made by scripts/view-screenshot.sh): small blocks
   freed (a fastbin up to 2.25, the tcache after), a 1000-byte block freed
   (unsorted, then a small bin before 2.26; the tcache after), a 1500-byte
   one (unsorted, then a large bin), a 200 kB block (mmapped), then a
   500-byte request that 2.23 serves from the freed 1000-byte block and
   2.26 on from the 1500-byte one.  */
#include <stdlib.h>

int
main (void)
{
  void *a = malloc (24), *b = malloc (24), *c = malloc (1500);
  void *d = malloc (40), *h = malloc (1000), *guard = malloc (24);
  free (a);
  free (b);
  free (c);
  free (h);
  void *e = malloc (2000);
  void *big = malloc (200000);
  free (big);
  void *g = malloc (500);
  void *again = malloc (24);
  free (d);
  free (e);
  free (g);
  free (again);
  free (guard);
  return 0;
}
