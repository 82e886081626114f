/* Makes allocations whose places in the heap are known, prints them, and
   stops in heap_is_ready () for crates/cli/tests/gdb.rs, which runs gdb's
   `heap' command there (gdb/malloc_standalone.py).
     gdb_heap N FASTBINS   -- N: the tcache's fill count (the test sets it
                              with GLIBC_TUNABLES); FASTBINS: 1 if the
                              version has fastbins
     gdb_heap threads      -- a second thread allocates (a second arena)
   Output: "tcache20 <a2> <a1> <a0>" (newest first), "tcache40 ...",
   "fastbin40 ...", "unsorted <U>", "large <L>".  */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void __attribute__ ((noinline))
heap_is_ready (void)
{
  __asm__ volatile ("" ::: "memory");
}

static void *
worker (void *arg)
{
  (void) arg;
  void *volatile p = malloc (0x100);
  printf ("thread %p\n", p);
  return NULL;
}

int
main (int argc, char **argv)
{
  if (argc == 2 && strcmp (argv[1], "threads") == 0)
    {
      pthread_t t;
      pthread_create (&t, NULL, worker, NULL);
      pthread_join (t, NULL);
      fflush (stdout);
      heap_is_ready ();
      return 0;
    }
  if (argc != 3)
    return 2;
  int n = atoi (argv[1]), fastbins = atoi (argv[2]);
  int nf = n + (fastbins ? 2 : 0);
  /* Everything is allocated first, so that no later malloc takes from a
     bin; then the frees put each chunk where the test expects it.  */
  setvbuf (stdout, NULL, _IONBF, 0);
  /* Some versions (2.44) allocate the tcache at the first free: make that
     happen now, not in the middle of what follows.  */
  void *volatile first = malloc (0x18);
  free (first);
  void *a[3], *f[64];
  for (int i = 0; i < 3; i++)
    a[i] = malloc (0x18);
  for (int i = 0; i < nf; i++)
    f[i] = malloc (0x38);
  void *large = malloc (0x500);
  void *volatile guard1 = malloc (0x98);
  void *unsorted = malloc (0x540);
  void *volatile guard2 = malloc (0x98);
  (void) guard1, (void) guard2;

  /* Their addresses, kept as numbers: printing a freed pointer is not C.  */
  uintptr_t A[3], F[64], U = (uintptr_t) unsorted, L = (uintptr_t) large;
  for (int i = 0; i < 3; i++)
    A[i] = (uintptr_t) a[i];
  for (int i = 0; i < nf; i++)
    F[i] = (uintptr_t) f[i];

  free (large);
  /* A large request sorts the unsorted chunk into its large bin.  */
  void *volatile big = malloc (0x700);
  (void) big;
  free (unsorted);
  for (int i = 0; i < 3; i++)
    free (a[i]);
  for (int i = 0; i < nf; i++)
    free (f[i]);

  printf ("tcache20 %#lx %#lx %#lx\n", A[2], A[1], A[0]);
  printf ("tcache40");
  for (int i = n - 1; i >= 0; i--)
    printf (" %#lx", F[i]);
  printf ("\n");
  if (fastbins)
    printf ("fastbin40 %#lx %#lx\n", F[n + 1], F[n]);
  printf ("unsorted %#lx\nlarge %#lx\n", U, L);
  heap_is_ready ();
  return 0;
}
