/* How many freed chunks of one size the tcache holds: free N blocks of
   24 bytes (each followed by a guard block, so that nothing coalesces),
   then allocate one: the tcache hands back the last block it took, and the
   tcache takes the first ones freed until its bin is full.  */
#include <stdio.h>
#include <stdlib.h>

#define N 40

int
main (void)
{
  void *block[N], *guard[N];
  for (int i = 0; i < N; i++)
    {
      block[i] = malloc (24);
      guard[i] = malloc (24);
    }
  for (int i = 0; i < N; i++)
    free (block[i]);
  void *again = malloc (24);
  for (int i = 0; i < N; i++)
    if (block[i] == again)
      {
        printf ("tcache holds %d chunks of this size\n", i + 1);
        return 0;
      }
  printf ("tcache holds no chunk of this size\n");
  (void) guard;
  return 0;
}
