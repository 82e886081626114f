/* Checks the unsorted, small and large bins: a lone unsorted chunk's links, sorting of unsorted chunks into small and large bins, large-bin order and nextsize links (equal sizes included), best fit and splitting, and last_remainder reuse for small requests.  */
#include "diff.h"

#define N 20

/* A freed chunk's links: fd (mangled in a tcache or fastbin from 2.32
   on), bk (the tcache key for a tcache chunk) and, for large chunks, the
   nextsize links.  Bins point at chunk headers, the tcache at user
   pointers.  */
static void
links (const char *label, const void *mem)
{
  const uintptr_t *w = mem;
  if (csize (mem) >= 0x400)
    say ("  %-10s %-8s size=%-8s fd=%-10s bk=%-10s fd_nextsize=%-10s "
	 "bk_nextsize=%s\n", label, where (mem), sizefield (hdr (mem)),
	 link_of (mem), ptr (w[1]), ptr (w[2]), ptr (w[3]));
  else
    say ("  %-10s %-8s size=%-8s fd=%-10s bk=%s\n", label, where (mem),
	 sizefield (hdr (mem)), link_of (mem), ptr (w[1]));
}

/* The header of the chunk after MEM (the remainder of a split).  */
static void
next_chunk (const char *label, const void *mem)
{
  const char *next = (const char *) mem + csize (mem);
  say ("  %-10s after %s: size=%s\n", label, where (mem),
       sizefield (hdr (next)));
}

int
main (int argc, char **argv)
{
  diff_init (argc, argv);
  base_at (malloc (1));

  /* One chunk alone in the unsorted bin points at the bin twice.  */
  void *u = malloc (0x4f8);
  malloc (1);
  free (u);
  bins = ((uintptr_t *) u)[0];
  say ("unsorted:\n");
  links ("u", u);
  CHECK (((uintptr_t *) u)[0] == ((uintptr_t *) u)[1]);
  info ("unsorted");
  show ("u again", malloc (0x4f8));

  /* Small chunks, each between guards: the tcache takes the first ones,
     the rest wait in the unsorted bin until a request sorts them.  */
  void *s[N];
  for (int i = 0; i < N; i++)
    {
      s[i] = malloc (0xf8);
      malloc (1);
    }
  for (int i = 0; i < N; i++)
    free (s[i]);
  say ("small, freed:\n");
  for (int i = 0; i < N; i++)
    links ("s", s[i]);
  info ("small");
  show ("sorting request", malloc (0x600));
  say ("small, sorted:\n");
  for (int i = 0; i < N; i++)
    links ("s", s[i]);
  info ("sorted");
  for (int i = 0; i < N; i++)
    show ("small again", malloc (0xf8));

  /* Large chunks in one large bin (0x500-0x530) and one in another
     (0x440), freed out of order; two of the same size.  */
  static const size_t large[] = { 0x510, 0x530, 0x500, 0x520, 0x520, 0x440 };
  enum { L = sizeof large / sizeof large[0] };
  void *l[L];
  for (int i = 0; i < L; i++)
    {
      l[i] = malloc (large[i] - SIZE_SZ);
      malloc (1);
    }
  for (int i = 0; i < L; i++)
    free (l[i]);
  say ("large, freed:\n");
  for (int i = 0; i < L; i++)
    links ("l", l[i]);
  show ("sorting request", malloc (0x2000));
  say ("large, sorted:\n");
  for (int i = 0; i < L; i++)
    links ("l", l[i]);
  info ("large");
  /* Exact fits, the second of two equal chunks first, then a best fit
     that splits.  */
  static const size_t want[] = { 0x500, 0x520, 0x520, 0x4a0 };
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
    {
      void *p = malloc (want[i] - SIZE_SZ);
      char label[32];
      snprintf (label, sizeof label, "large %#zx", want[i]);
      show (label, p);
      next_chunk ("split", p);
    }
  info ("large taken");

  /* last_remainder: a free 0x1000 chunk serves small requests one after
     another from its remainder.  */
  void *r = malloc (0xff8);
  malloc (1);
  free (r);
  show ("sorting request", malloc (0x1800));
  for (int i = 0; i < 6; i++)
    {
      void *p = malloc (0x1f8 + 0x10 * i);
      show ("from remainder", p);
      next_chunk ("remainder", p);
    }
  info ("end");
  return 0;
}
