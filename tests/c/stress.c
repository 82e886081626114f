/* Checks thread and fork safety: 8 threads churn malloc/calloc/realloc/memalign/posix_memalign/aligned_alloc/free and verify contents and alignment while another thread forks children that allocate.  */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define THREADS 8
#define SLOTS 256
#define OPS 40000

struct slot
{
  unsigned char *p;
  size_t n;
  unsigned char fill;
};

static void
fail (const char *what, size_t a, size_t b)
{
  fprintf (stderr, "stress: %s (%zu, %zu)\n", what, a, b);
  fflush (stderr);
  _exit (3);
}

static void
check (const struct slot *s)
{
  for (size_t i = 0; i < s->n; i++)
    if (s->p[i] != s->fill)
      fail ("corrupted contents", i, s->n);
}

static void
set (struct slot *s, void *p, size_t n, unsigned char fill)
{
  if (p == NULL && n != 0)
    fail ("allocation failed", n, 0);
  s->p = p;
  s->n = n;
  s->fill = fill;
  memset (p, fill, n);
}

static size_t
rnd (unsigned *seed, size_t bound)
{
  return (size_t) rand_r (seed) % bound;
}

static size_t
size_of (unsigned *seed)
{
  /* Mostly small, sometimes large (mmapped).  */
  switch (rnd (seed, 64))
    {
    case 0:
      return rnd (seed, 300000) + 1;
    case 1:
    case 2:
      return rnd (seed, 8192) + 1;
    default:
      return rnd (seed, 512) + 1;
    }
}

static void
churn_once (struct slot *s, unsigned *seed)
{
  size_t n = size_of (seed);
  unsigned char fill = (unsigned char) rnd (seed, 255) + 1;
  size_t align = (size_t) 16 << rnd (seed, 9);
  if (s->p != NULL)
    check (s);
  switch (rnd (seed, 8))
    {
    case 0:
      {
	/* realloc keeps the common prefix.  */
	unsigned char *q = realloc (s->p, n);
	if (q == NULL)
	  fail ("realloc failed", n, 0);
	size_t keep = s->n < n ? s->n : n;
	for (size_t i = 0; i < keep; i++)
	  if (q[i] != s->fill)
	    fail ("realloc lost contents", i, keep);
	set (s, q, n, fill);
	return;
      }
    case 1:
      {
	free (s->p);
	size_t count = rnd (seed, 16) + 1;
	unsigned char *q = calloc (count, n / count + 1);
	if (q == NULL)
	  fail ("calloc failed", count, n);
	for (size_t i = 0; i < count * (n / count + 1); i++)
	  if (q[i] != 0)
	    fail ("calloc not zeroed", i, n);
	set (s, q, count * (n / count + 1), fill);
	return;
      }
    case 2:
      free (s->p);
      set (s, memalign (align, n), n, fill);
      break;
    case 3:
      {
	free (s->p);
	void *q = NULL;
	if (posix_memalign (&q, align, n) != 0)
	  fail ("posix_memalign failed", align, n);
	set (s, q, n, fill);
	break;
      }
    case 4:
      free (s->p);
      n = (n + align - 1) / align * align;
      set (s, aligned_alloc (align, n), n, fill);
      break;
    case 5:
      free (s->p);
      set (s, NULL, 0, 0);
      return;
    default:
      free (s->p);
      set (s, malloc (n), n, fill);
      if (malloc_usable_size (s->p) < n)
	fail ("usable size too small", malloc_usable_size (s->p), n);
      return;
    }
  if ((uintptr_t) s->p % align != 0)
    fail ("misaligned", (uintptr_t) s->p, align);
}

static void *
churn (void *arg)
{
  unsigned seed = (unsigned) (uintptr_t) arg;
  struct slot *slots = calloc (SLOTS, sizeof *slots);
  if (slots == NULL)
    fail ("calloc of slots failed", SLOTS, 0);
  for (int i = 0; i < OPS; i++)
    churn_once (&slots[rnd (&seed, SLOTS)], &seed);
  for (int k = 0; k < SLOTS; k++)
    {
      if (slots[k].p != NULL)
	check (&slots[k]);
      free (slots[k].p);
    }
  free (slots);
  return NULL;
}

static void *
child_thread (void *arg)
{
  (void) arg;
  void *p = malloc (1000);
  free (p);
  return NULL;
}

/* Forks while the churn threads hold and take arena locks; each child must
   find malloc usable (fork handlers reset the locks) and exit 0.  */
static void *
forker (void *arg)
{
  (void) arg;
  for (int i = 0; i < 20; i++)
    {
      pid_t pid = fork ();
      if (pid < 0)
	fail ("fork failed", i, 0);
      if (pid == 0)
	{
	  unsigned seed = (unsigned) i;
	  struct slot s[32] = { { 0 } };
	  for (int k = 0; k < 2000; k++)
	    churn_once (&s[rnd (&seed, 32)], &seed);
	  pthread_t t;
	  if (pthread_create (&t, NULL, child_thread, NULL) != 0
	      || pthread_join (t, NULL) != 0)
	    _exit (4);
	  _exit (0);
	}
      int status;
      if (waitpid (pid, &status, 0) != pid)
	fail ("waitpid failed", i, 0);
      if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
	fail ("child failed", i, (size_t) status);
    }
  return NULL;
}

int
main (void)
{
  for (int round = 0; round < 2; round++)
    {
      pthread_t t[THREADS + 1];
      for (int i = 0; i < THREADS; i++)
	if (pthread_create (&t[i], NULL, churn,
			    (void *) (uintptr_t) (i + 1 + round * THREADS)) != 0)
	  fail ("pthread_create failed", i, 0);
      if (pthread_create (&t[THREADS], NULL, forker, NULL) != 0)
	fail ("pthread_create failed", THREADS, 0);
      for (int i = 0; i <= THREADS; i++)
	pthread_join (t[i], NULL);
    }
  puts ("stress ok");
  return 0;
}
