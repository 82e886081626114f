/* Fills the allocator's lists with chunks whose places are known, prints
   them, and stops in heap_is_ready () for crates/cli/tests/debuggers.rs,
   which runs GEF's, pwndbg's and our own heap commands there.
     debuggers_heap N FASTBINS  -- N: the tcache's fill count (the test
                                   sets it with GLIBC_TUNABLES, 0 for a
                                   version without a tcache); FASTBINS: 1
                                   if the version has fastbins
   Output, each a user pointer (what malloc returned), newest first:
     "tcache20 ...", "tcache90 ..."   (only with a tcache)
     "fast20 ..."                      (only with fastbins)
     "unsorted U", "small S", "large L".
   Without a tcache the chunks meant for it go to the fastbins (0x20) or,
   too big for a fastbin (0x90), to the unsorted bin and are sorted on.  */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

void __attribute__ ((noinline))
heap_is_ready (void)
{
  __asm__ volatile ("" ::: "memory");
}

static void
print (const char *label, const uintptr_t *p, int n)
{
  printf ("%s", label);
  for (int i = n - 1; i >= 0; i--)
    printf (" %#lx", (unsigned long) p[i]);
  printf ("\n");
}

int
main (int argc, char **argv)
{
  if (argc != 3)
    return 2;
  int n = atoi (argv[1]), fastbins = atoi (argv[2]);
  if (n < 0 || n > 32)
    return 2;
  int nfast = fastbins ? 2 : 0;
  setvbuf (stdout, NULL, _IONBF, 0);
  /* Some versions allocate the tcache at the first free: make that happen
     now, not in the middle of what follows.  */
  void *volatile first = malloc (0x18);
  free (first);

  /* Everything is allocated first, so that no later malloc takes from a
     list; an in-use guard after each chunk that goes to a bin keeps it
     from merging with its neighbours.  */
  void *t20[40], *t90[40];
  for (int i = 0; i < n + nfast; i++)
    t20[i] = malloc (0x18);
  for (int i = 0; i < n; i++)
    t90[i] = malloc (0x88);
  void *small = malloc (0x88);
  void *volatile g1 = malloc (0x18);
  void *large = malloc (0x500);
  void *volatile g2 = malloc (0x18);
  void *unsorted = malloc (0x540);
  void *volatile g3 = malloc (0x18);
  (void) g1, (void) g2, (void) g3;

  /* Their addresses, kept as numbers: printing a freed pointer is not C.  */
  uintptr_t T20[40], T90[40], F20[4];
  for (int i = 0; i < n; i++)
    T20[i] = (uintptr_t) t20[i], T90[i] = (uintptr_t) t90[i];
  for (int i = 0; i < nfast; i++)
    F20[i] = (uintptr_t) t20[n + i];
  uintptr_t S = (uintptr_t) small, L = (uintptr_t) large;
  uintptr_t U = (uintptr_t) unsorted;

  /* The tcache's 0x90 bin first, so that `small' goes to the unsorted
     bin; a large request then sorts it and `large' into their bins.  */
  for (int i = 0; i < n; i++)
    free (t90[i]);
  free (small);
  free (large);
  void *volatile big = malloc (0x700);
  (void) big;
  free (unsorted);
  for (int i = 0; i < n + nfast; i++)
    free (t20[i]);

  if (n > 0)
    {
      print ("tcache20", T20, n);
      print ("tcache90", T90, n);
    }
  if (fastbins)
    print ("fast20", F20, nfast);
  printf ("unsorted %#lx\nsmall %#lx\nlarge %#lx\n", (unsigned long) U,
	  (unsigned long) S, (unsigned long) L);
  heap_is_ready ();
  return 0;
}
