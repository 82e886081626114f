/* Checks that a fastbin chunk whose size field no longer matches its bin aborts the malloc that takes it with "malloc(): memory corruption (fast)".  */
/* diff: requires fastbins */
#include "diff.h"

int
main (int argc, char **argv)
{
  diff_init (argc, argv);
  base_at (malloc (24));
  size_t *p[40];
  for (int i = 0; i < 40; i++)
    p[i] = malloc (40);
  /* Fill the tcache, one more into the fastbin, then empty the tcache.  */
  int n = 0;
  while (mallinfo ().smblks == 0)
    {
      CHECK (n < 40);
      free (p[n++]);
    }
  for (int i = 0; i < n - 1; i++)
    malloc (40);
  size_t *victim = p[n - 1];
  say ("%s alone in its fastbin: size=%s\n", where (victim),
       sizefield (victim[-1]));
  poke (victim, -1, 0x40 | 1);
  say ("expect: malloc(): memory corruption (fast)\n");
  malloc (40);
  say ("not reached\n");
  return 0;
}
