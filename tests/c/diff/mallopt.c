/* Checks mallopt: the return value for every parameter (M_MXFAST, M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD, M_MMAP_MAX, M_CHECK_ACTION, M_PERTURB, M_ARENA_TEST, M_ARENA_MAX and unknown ones) with valid and invalid values, called before the first allocation and after, and the effects of M_PERTURB and M_MXFAST on the next allocations.  */
#include "diff.h"

struct param
{
  const char *name;
  int number;
};

static const struct param params[] = {
  { "M_MXFAST", M_MXFAST },
  { "M_TRIM_THRESHOLD", M_TRIM_THRESHOLD },
  { "M_TOP_PAD", M_TOP_PAD },
  { "M_MMAP_THRESHOLD", M_MMAP_THRESHOLD },
  { "M_MMAP_MAX", M_MMAP_MAX },
  { "M_CHECK_ACTION", M_CHECK_ACTION },
  { "M_PERTURB", M_PERTURB },
  { "M_ARENA_TEST", M_ARENA_TEST },
  { "M_ARENA_MAX", M_ARENA_MAX },
  { "unknown 2", 2 },
  { "unknown 42", 42 },
  { "unknown -9", -9 },
  { "unknown -100", -100 },
};

static const int values[] =
  { -1, 0, 1, 8, 64, 80, 128, 160, 161, 4096, 65536, 1 << 20, 32 << 20,
    (32 << 20) + 1, 64 << 20, 1 << 30, 0x7fffffff };

/* The bytes at offsets 16..23 of P: past the tcache's link and key.  */
static const char *
bytes (const unsigned char *p)
{
  static char buf[64];
  snprintf (buf, sizeof buf, "%02x %02x %02x %02x %02x %02x %02x %02x",
	    p[16], p[17], p[18], p[19], p[20], p[21], p[22], p[23]);
  return buf;
}

int
main (int argc, char **argv)
{
  diff_init (argc, argv);

  /* Before any allocation: mallopt initialises the allocator.  */
  say ("first: mallopt(M_TOP_PAD, 4096) = %d\n", mallopt (M_TOP_PAD, 4096));
  base_at (malloc (1));
  info ("start");

  for (size_t i = 0; i < sizeof params / sizeof params[0]; i++)
    {
      say ("%s:", params[i].name);
      for (size_t j = 0; j < sizeof values / sizeof values[0]; j++)
	say (" %d->%d", values[j], mallopt (params[i].number, values[j]));
      say ("\n");
    }
  /* Back to sane settings (each call consolidated the fastbins).  */
  say ("reset: %d %d %d %d %d %d %d\n", mallopt (M_MXFAST, 128),
       mallopt (M_TRIM_THRESHOLD, 128 * 1024), mallopt (M_TOP_PAD, 0),
       mallopt (M_MMAP_THRESHOLD, 128 * 1024), mallopt (M_MMAP_MAX, 65536),
       mallopt (M_PERTURB, 0), mallopt (M_ARENA_MAX, 8));
  info ("reset");

  /* M_PERTURB: new memory is filled with the complement of the byte,
     freed memory with the byte itself.  */
  say ("mallopt(M_PERTURB, 0x5a) = %d\n", mallopt (M_PERTURB, 0x5a));
  unsigned char *p = malloc (64);
  say ("new 64:       %s\n", bytes (p));
  unsigned char *big = malloc (3000);
  malloc (1);
  say ("new 3000:     %s\n", bytes (big));
  memset (p, 0x11, 64);
  memset (big, 0x11, 3000);
  free (p);
  free (big);
  say ("freed 64:     %s\n", bytes (p));
  say ("freed 3000:   %s\n", bytes (big));
  unsigned char *c = calloc (1, 64);
  say ("calloc 64:    %s\n", bytes (c));
  say ("mallopt(M_PERTURB, 0) = %d\n", mallopt (M_PERTURB, 0));

  /* M_MXFAST: which chunk sizes reach a fastbin (after the tcache).  */
  static const int limits[] = { 0, 32, 64, 128, 160 };
  for (size_t k = 0; k < sizeof limits / sizeof limits[0]; k++)
    {
      say ("mallopt(M_MXFAST, %d) = %d:", limits[k],
	   mallopt (M_MXFAST, limits[k]));
      for (size_t n = 24; n <= 200; n += 16)
	{
	  void *q[20];
	  for (int i = 0; i < 20; i++)
	    q[i] = malloc (n);
	  malloc (1);
	  for (int i = 0; i < 20; i++)
	    free (q[i]);
	  say (" %zu:%d", n, mallinfo ().smblks);
	  for (int i = 0; i < 20; i++)
	    malloc (n);
	}
      say ("\n");
    }
  info ("end");
  return 0;
}
