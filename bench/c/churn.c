/* A fixed amount of single-threaded allocator work, for instruction
   counts: OPS calls of malloc, free, realloc and calloc on sizes from 8 to
   ~4 KiB (a few larger), chosen by a fixed pseudo-random sequence over
   1024 slots, so every run does exactly the same calls.
     churn [OPS]   (default 1000000)  */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
main (int argc, char **argv)
{
  long ops = argc > 1 ? atol (argv[1]) : 1000000;
  enum { SLOTS = 1024 };
  static void *slot[SLOTS];
  uint64_t x = 88172645463325252ULL;
  unsigned long sum = 0;
  for (long i = 0; i < ops; i++)
    {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      unsigned s = x % SLOTS;
      size_t size = 8 + (x >> 20) % ((x >> 40) % 16 == 0 ? 65536 : 512);
      switch ((x >> 10) % 8)
	{
	case 0:
	  slot[s] = realloc (slot[s], size);
	  break;
	case 1:
	  free (slot[s]);
	  slot[s] = calloc (1, size);
	  break;
	default:
	  free (slot[s]);
	  slot[s] = malloc (size);
	  break;
	}
      if (slot[s] != NULL)
	{
	  ((char *) slot[s])[0] = (char) i;
	  sum += ((unsigned char *) slot[s])[0];
	}
    }
  for (int s = 0; s < SLOTS; s++)
    free (slot[s]);
  printf ("%lu\n", sum);
  return 0;
}
