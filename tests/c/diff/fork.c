/* Checks fork: a child starts from a copy of its parent's heap (the same requests return the same chunks, mallinfo agrees) and allocates on its own; after a thread has used an arena, a child can still allocate (the arena locks were reset) and its new thread takes that arena from the free list.  */
/* As in threads.c, nothing about the main arena is printed after the
   first pthread_create (the new thread's DTV is 16 bytes larger under
   LD_PRELOAD).  */
/* diff: link libpthread.so.0 */
#include "diff.h"

#include <pthread.h>
#include <sys/wait.h>

__asm__ (".symver pthread_create, pthread_create@GLIBC_2.2.5");
__asm__ (".symver pthread_join, pthread_join@GLIBC_2.2.5");

#define N 12
static const size_t sizes[N] =
  { 24, 24, 40, 100, 1000, 1000, 5000, 24, 300000, 1500, 40, 100 };

/* The same requests in parent and child, printed by the child.  */
static void
sequence (void **out, int print)
{
  for (int i = 0; i < N; i++)
    {
      out[i] = malloc (sizes[i]);
      if (print)
	{
	  char label[32];
	  snprintf (label, sizeof label, "child malloc(%zu)", sizes[i]);
	  show (label, out[i]);
	}
    }
}

static int
wait_child (pid_t pid)
{
  int status;
  CHECK (waitpid (pid, &status, 0) == pid);
  return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
}

static uintptr_t thread_heap, thread_first;

static void *
thread_fn (void *arg)
{
  const char *who = arg;
  void *first = malloc (24);
  uintptr_t f = (uintptr_t) first;
  if ((hdr (first) & 4) == 0)
    say ("%s: thread in the main arena\n", who);
  else if (thread_heap == 0)
    {
      thread_heap = f & ~(THREAD_HEAP_MAX - 1);
      thread_first = f;
      say ("%s: thread's first chunk at its heap%+ld\n", who,
	   (long) (f - thread_heap));
    }
  else
    say ("%s: thread's first chunk %s the first thread's heap, at its "
	 "first%+ld\n", who,
	 (f & ~(THREAD_HEAP_MAX - 1)) == thread_heap ? "in" : "not in",
	 (long) (f - thread_first));
  free (malloc (3000));
  return NULL;
}

int
main (int argc, char **argv)
{
  diff_init (argc, argv);
  base_at (malloc (24));

  /* Something in every kind of bin first.  */
  void *p[40];
  for (int i = 0; i < 40; i++)
    {
      p[i] = malloc (i % 2 ? 24 : 1000 + 16 * i);
      malloc (1);
    }
  for (int i = 0; i < 40; i += 3)
    free (p[i]);
  info ("parent before fork");

  void *mine[N];
  int fds[2];
  CHECK (pipe (fds) == 0);
  pid_t pid = fork ();
  CHECK (pid >= 0);
  if (pid == 0)
    {
      info ("child at start");
      void *theirs[N];
      sequence (theirs, 1);
      info ("child after");
      CHECK (write (fds[1], theirs, sizeof theirs) == sizeof theirs);
      _exit (0);
    }
  say ("child exited with %d\n", wait_child (pid));
  void *theirs[N];
  CHECK (read (fds[0], theirs, sizeof theirs) == sizeof theirs);
  sequence (mine, 0);
  int same = 0;
  for (int i = 0; i < N; i++)
    same += mine[i] == theirs[i];
  say ("parent got the child's chunks for %d of %d requests\n", same, N);
  info ("parent after");

  /* A thread uses an arena and exits; then a child of this now
     multi-threaded process allocates and starts a thread.  */
  pthread_t t;
  CHECK (pthread_create (&t, NULL, thread_fn, (void *) "parent") == 0);
  CHECK (pthread_join (t, NULL) == 0);
  pid = fork ();
  CHECK (pid >= 0);
  if (pid == 0)
    {
      void *q = malloc (5000);
      say ("child: malloc(5000) %s\n", q != NULL ? "works" : "failed");
      CHECK (pthread_create (&t, NULL, thread_fn, (void *) "child") == 0);
      CHECK (pthread_join (t, NULL) == 0);
      free (q);
      _exit (0);
    }
  say ("child exited with %d\n", wait_child (pid));
  CHECK (pthread_create (&t, NULL, thread_fn, (void *) "parent") == 0);
  CHECK (pthread_join (t, NULL) == 0);
  return 0;
}
