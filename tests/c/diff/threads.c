/* Checks thread arenas: a second thread's chunks come from a new arena (NON_MAIN_ARENA bit, their offsets from that arena's first chunk and its heap, heap_info's ar_ptr), a later thread reuses a finished thread's arena and its freed tcache, concurrent threads get separate arenas, and the arena limit (one case per MALLOC_ARENA_MAX setting) sends threads to shared arenas.  */
/* Main-arena offsets are printed only before the first pthread_create:
   pthread_create allocates the new thread's DTV in the main arena, and
   under LD_PRELOAD it is 16 bytes larger (one more TLS module: our .so),
   so every main-arena offset after it would differ from the real glibc's
   for a reason that has nothing to do with the allocator (even relative to
   a thread's own first chunk: the DTV may have been split off the free
   chunk the thread's next request is served from).  So a thread prints
   its chunks relative to its own arena's first chunk ("t+N"), and only
   "main" when the arena limit put it in the main arena.  mallinfo,
   malloc_stats and malloc_info sum up the main arena too, so they are not
   used after the first pthread_create either.  */
/* diff: link libpthread.so.0 */
/* diff: case default */
/* diff: case MALLOC_ARENA_MAX=1 MALLOC_ARENA_MAX=1 */
/* diff: case arena_max=2 GLIBC_TUNABLES=glibc.malloc.arena_max=2 */
/* diff: case alias-and-out-of-range MALLOC_ARENA_MAX=1 GLIBC_TUNABLES=glibc.malloc.arena_max=0 */
#include "diff.h"

#include <pthread.h>

/* The GLIBC_2.2.5 versions are libpthread's before 2.34 and libc's after.  */
__asm__ (".symver pthread_create, pthread_create@GLIBC_2.2.5");
__asm__ (".symver pthread_join, pthread_join@GLIBC_2.2.5");

/* A chunk's arena: heap_info's ar_ptr (its first word) for a thread
   arena's chunk, 0 for the main arena's.  */
static uintptr_t
arena_of (const void *mem)
{
  if ((hdr (mem) & 4) == 0)
    return 0;
  return *(const uintptr_t *) ((uintptr_t) mem & ~(THREAD_HEAP_MAX - 1));
}

/* Thread A's arena, heap and first chunk; and C's arena.  */
static uintptr_t a_arena, a_heap, a_first, c_arena;

/* Where a thread's first chunk is; sets the bases its chunks are printed
   against.  */
static uintptr_t
enter (const char *who, void *first)
{
  uintptr_t ar = arena_of (first), f = (uintptr_t) first;
  if (ar == 0)
    {
      say ("%s: first chunk size=%s in the main arena\n", who,
	   sizefield (hdr (first)));
      base = theap = tbase = 0;
      return 0;
    }
  uintptr_t heap = f & ~(THREAD_HEAP_MAX - 1);
  say ("%s: first chunk size=%s at its heap%+ld, ar_ptr at heap%+ld\n", who,
       sizefield (hdr (first)), (long) (f - heap), (long) (ar - heap));
  if (a_heap != 0)
    say ("%s: %s thread A's arena%s\n", who,
	 ar == a_arena ? "in" : "not in",
	 heap == a_heap ? ", same heap" : "");
  if (heap == a_heap)
    say ("%s: first chunk at A's first%+ld\n", who, (long) (f - a_first));
  theap = heap;
  tbase = f;
  return ar;
}

static void *
thread_a (void *arg)
{
  (void) arg;
  void *first = malloc (24);
  a_arena = enter ("A", first);
  if (a_arena != 0)
    {
      a_heap = theap;
      a_first = tbase;
    }
  static const size_t sizes[] =
    { 24, 100, 1000, 5000, 100000, 200000, 70000, 1500 };
  enum { N = sizeof sizes / sizeof sizes[0] };
  void *p[N];
  char label[32];
  for (int i = 0; i < N; i++)
    {
      p[i] = malloc (sizes[i]);
      snprintf (label, sizeof label, "A malloc(%zu)", sizes[i]);
      show (label, p[i]);
    }
  /* Into the tcache, the unsorted bin, the top (the heap may shrink).  */
  free (p[0]);
  free (p[1]);
  free (p[3]);
  free (p[5]);
  free (p[7]);
  for (int i = 0; i < N; i++)
    {
      void *q = malloc (sizes[N - 1 - i]);
      snprintf (label, sizeof label, "A again(%zu)", sizes[N - 1 - i]);
      show (label, q);
      if (i % 2 == 0)
	free (q);
    }
  /* Some left in the tcache at exit: the thread's tcache is emptied into
     the arena, which goes on the free list for the next thread.  */
  free (p[2]);
  free (malloc (40));
  return NULL;
}

static void *
thread_b (void *arg)
{
  (void) arg;
  void *first = malloc (24);
  enter ("B", first);
  for (int i = 0; i < 6; i++)
    show ("B malloc(40)", malloc (40));
  show ("B malloc(1000)", malloc (1000));
  show ("B malloc(3000)", malloc (3000));
  return NULL;
}

static int c_ready[2], c_go[2];

static void *
thread_c (void *arg)
{
  (void) arg;
  void *first = malloc (24);
  c_arena = enter ("C", first);
  show ("C malloc(500)", malloc (500));
  char x = 0;
  CHECK (write (c_ready[1], &x, 1) == 1);
  CHECK (read (c_go[0], &x, 1) == 1);
  /* No output: D has been created since.  */
  free (malloc (700));
  return NULL;
}

static void *
thread_d (void *arg)
{
  (void) arg;
  void *first = malloc (24);
  uintptr_t ar = enter ("D", first);
  say ("D: %s C's arena\n", ar == c_arena ? "in" : "not in");
  show ("D malloc(500)", malloc (500));
  return NULL;
}

static void
run (void *(*fn) (void *), pthread_t *t)
{
  CHECK (pthread_create (t, NULL, fn, NULL) == 0);
}

int
main (int argc, char **argv)
{
  diff_init (argc, argv);
  base_at (malloc (24));
  show ("main malloc(1000)", malloc (1000));
  info ("main before any thread");

  pthread_t t, c, d;
  /* A alone, then B alone after A has finished.  */
  run (thread_a, &t);
  CHECK (pthread_join (t, NULL) == 0);
  run (thread_b, &t);
  CHECK (pthread_join (t, NULL) == 0);

  /* C holds an arena while D starts.  */
  CHECK (pipe (c_ready) == 0 && pipe (c_go) == 0);
  run (thread_c, &c);
  char x;
  CHECK (read (c_ready[0], &x, 1) == 1);
  run (thread_d, &d);
  CHECK (pthread_join (d, NULL) == 0);
  CHECK (write (c_go[1], &x, 1) == 1);
  CHECK (pthread_join (c, NULL) == 0);
  say ("done\n");
  return 0;
}
