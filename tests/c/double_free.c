/* Checks that freeing a chunk twice aborts with the version's own message: with no argument a tcache-sized chunk freed twice in a row (caught by the tcache key from 2.29, by the fastbin check before tcache), with "fastbin" the same after seven other chunks of its size fill the tcache (caught as "fasttop" by every version with fastbins) (built with old_start.c so it also runs on glibc 2.31).  */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
main (int argc, char **argv)
{
  void *p = malloc (24);
  if (argc > 1 && strcmp (argv[1], "fastbin") == 0)
    {
      void *fill[7];
      for (int i = 0; i < 7; i++)
	fill[i] = malloc (24);
      for (int i = 0; i < 7; i++)
	free (fill[i]);
    }
  /* Through a volatile copy, so that the compiler neither warns nor
     removes the second call.  */
  void *volatile again = p;
  free (p);
  free (again);
  /* Not reached when the allocator catches the double free.  */
  static const char msg[] = "no abort\n";
  write (STDOUT_FILENO, msg, sizeof msg - 1);
  return 0;
}
