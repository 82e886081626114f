/* Checks that freeing a tcache-sized chunk twice aborts with the version's own message (built with old_start.c so it also runs on glibc 2.31).  */
#include <stdlib.h>
#include <unistd.h>

int
main (void)
{
  void *p = malloc (24);
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
