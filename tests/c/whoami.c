/* Checks interposition: prints which loaded object defines each symbol named on the command line, and whether libc's own internal allocations (strdup) land in the allocator that mallinfo reports on.  */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
main (int argc, char **argv)
{
  int status = 0;
  for (int i = 1; i < argc; i++)
    {
      void *addr = dlsym (RTLD_DEFAULT, argv[i]);
      Dl_info info;
      if (addr == NULL || dladdr (addr, &info) == 0 || info.dli_fname == NULL)
	{
	  printf ("%s\t(not found)\n", argv[i]);
	  status = 1;
	  continue;
	}
      printf ("%s\t%s\n", argv[i], info.dli_fname);
    }

  /* strdup is libc's, and calls malloc through libc's own binding.  */
  static char text[50000];
  memset (text, 'x', sizeof text - 1);
  int before = mallinfo ().uordblks;
  char *copy = strdup (text);
  int after = mallinfo ().uordblks;
  printf ("strdup of %zu bytes: in-use bytes grew by %d\n", sizeof text,
	  after - before);
  free (copy);
  return status;
}
