/* Checks thread and fork safety under load.  8 threads churn every
   allocation function (malloc, calloc, realloc, free, memalign,
   posix_memalign, aligned_alloc, valloc, pvalloc, and reallocarray where
   the allocator has it) on blocks of 1 byte to 2 MiB, filling each block
   with a pattern and checking the pattern before the block is reallocated
   or freed (and alignment, usable size, calloc's zeroes and realloc's kept
   prefix).  Blocks change threads through a shared mailbox, so many are
   freed or reallocated by a thread other than the one that allocated them
   (another arena).  Meanwhile a ninth thread forks children, each of which
   checks and frees the blocks in the mailbox (allocated by other threads
   of its parent, in arenas whose locks the fork handlers reset), churns on
   its own and starts a thread that allocates; each child must exit 0.

     stress [--reallocarray=yes|no]

   With the option, whether the allocator (the object that defines malloc)
   also defines reallocarray must be as said; without it, it is used if so.
   Prints "stress ok" and exits 0, or names what went wrong and exits 3.  */
#define _GNU_SOURCE
#include <dlfcn.h>
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
#define OPS 30000
#define MAILBOX 64
#define FORKS 20
#define MAX_SIZE ((size_t) 2 << 20)

struct slot
{
  unsigned char *p;
  size_t n;
  unsigned char fill;
};

static pthread_mutex_t mailbox_lock = PTHREAD_MUTEX_INITIALIZER;
static struct slot mailbox[MAILBOX];

/* The allocator's reallocarray, or NULL when the object that defines malloc
   does not define it (the C library's would then call its own realloc on
   our blocks).  */
static void *(*reallocarray_fn) (void *, size_t, size_t);

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
  /* rand_r gives 31 bits; two make enough for any bound here.  */
  size_t r = ((size_t) rand_r (seed) << 31) ^ (size_t) rand_r (seed);
  return r % bound;
}

static size_t
size_of (unsigned *seed)
{
  /* Mostly small, sometimes large (mmapped), now and then up to 2 MiB.  */
  size_t k = rnd (seed, 512);
  if (k == 0)
    return rnd (seed, MAX_SIZE) + 1;
  if (k < 5)
    return rnd (seed, 300000) + 1;
  if (k < 25)
    return rnd (seed, 8192) + 1;
  return rnd (seed, 512) + 1;
}

static void
check_prefix (const unsigned char *q, const struct slot *old, size_t n,
	      const char *what)
{
  size_t keep = old->n < n ? old->n : n;
  for (size_t i = 0; i < keep; i++)
    if (q[i] != old->fill)
      fail (what, i, keep);
}

static void
churn_once (struct slot *s, unsigned *seed)
{
  size_t n = size_of (seed);
  unsigned char fill = (unsigned char) rnd (seed, 255) + 1;
  size_t align = (size_t) 16 << rnd (seed, 9);
  size_t page = (size_t) getpagesize ();
  if (s->p != NULL)
    check (s);
  switch (rnd (seed, 12))
    {
    case 0:
      {
	/* realloc keeps the common prefix.  */
	unsigned char *q = realloc (s->p, n);
	if (q == NULL)
	  fail ("realloc failed", n, 0);
	check_prefix (q, s, n, "realloc lost contents");
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
    case 6:
      free (s->p);
      set (s, valloc (n), n, fill);
      align = page;
      break;
    case 7:
      {
	free (s->p);
	unsigned char *q = pvalloc (n);
	/* pvalloc rounds the size up to whole pages.  */
	size_t whole = (n + page - 1) / page * page;
	if (q != NULL && malloc_usable_size (q) < whole)
	  fail ("pvalloc: usable size too small", malloc_usable_size (q), whole);
	set (s, q, whole, fill);
	align = page;
	break;
      }
    case 8:
      if (reallocarray_fn != NULL)
	{
	  size_t count = rnd (seed, 16) + 1, each = n / count + 1;
	  unsigned char *q = reallocarray_fn (s->p, count, each);
	  if (q == NULL)
	    fail ("reallocarray failed", count, each);
	  check_prefix (q, s, count * each, "reallocarray lost contents");
	  set (s, q, count * each, fill);
	  return;
	}
      /* Fall through.  */
    case 9:
      {
	/* Swap blocks with the mailbox: what this thread takes another
	   allocated, and it will be reallocated or freed here.  */
	size_t k = rnd (seed, MAILBOX);
	pthread_mutex_lock (&mailbox_lock);
	struct slot mine = *s;
	*s = mailbox[k];
	mailbox[k] = mine;
	pthread_mutex_unlock (&mailbox_lock);
	if (s->p != NULL)
	  check (s);
	return;
      }
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

static void
drain (struct slot *slots, size_t n)
{
  for (size_t k = 0; k < n; k++)
    {
      if (slots[k].p != NULL)
	check (&slots[k]);
      free (slots[k].p);
      slots[k].p = NULL;
      slots[k].n = 0;
    }
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
  drain (slots, SLOTS);
  free (slots);
  return NULL;
}

static void *
child_thread (void *arg)
{
  unsigned seed = (unsigned) (uintptr_t) arg;
  struct slot s[16] = { { 0 } };
  for (int k = 0; k < 500; k++)
    churn_once (&s[rnd (&seed, 16)], &seed);
  drain (s, 16);
  return NULL;
}

/* Forks while the churn threads hold and take arena locks; each child must
   find malloc usable (fork handlers reset the locks), free its parent's
   blocks and exit 0.  The mailbox's lock is held over the fork so that the
   child sees the mailbox whole.  */
static void *
forker (void *arg)
{
  unsigned round = (unsigned) (uintptr_t) arg;
  for (int i = 0; i < FORKS; i++)
    {
      pthread_mutex_lock (&mailbox_lock);
      pid_t pid = fork ();
      pthread_mutex_unlock (&mailbox_lock);
      if (pid < 0)
	fail ("fork failed", i, 0);
      if (pid == 0)
	{
	  unsigned seed = (unsigned) i + 1000 * round;
	  drain (mailbox, MAILBOX);
	  struct slot s[32] = { { 0 } };
	  for (int k = 0; k < 2000; k++)
	    churn_once (&s[rnd (&seed, 32)], &seed);
	  drain (s, 32);
	  pthread_t t;
	  if (pthread_create (&t, NULL, child_thread,
			      (void *) (uintptr_t) seed) != 0
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

/* Whether reallocarray is defined by the object that defines malloc.  */
static void
find_reallocarray (void)
{
  void *ra = dlsym (RTLD_DEFAULT, "reallocarray");
  void *m = dlsym (RTLD_DEFAULT, "malloc");
  Dl_info a, b;
  if (ra != NULL && m != NULL && dladdr (ra, &a) != 0 && dladdr (m, &b) != 0
      && a.dli_fbase == b.dli_fbase)
    reallocarray_fn = (void *(*) (void *, size_t, size_t)) ra;
}

int
main (int argc, char **argv)
{
  find_reallocarray ();
  if (argc > 1)
    {
      int want;
      if (strcmp (argv[1], "--reallocarray=yes") == 0)
	want = 1;
      else if (strcmp (argv[1], "--reallocarray=no") == 0)
	want = 0;
      else
	{
	  fprintf (stderr, "usage: stress [--reallocarray=yes|no]\n");
	  return 2;
	}
      if (want != (reallocarray_fn != NULL))
	{
	  fprintf (stderr, "stress: the allocator %s reallocarray\n",
		   reallocarray_fn != NULL ? "defines" : "does not define");
	  return 3;
	}
    }
  for (int round = 0; round < 2; round++)
    {
      pthread_t t[THREADS + 1];
      for (int i = 0; i < THREADS; i++)
	if (pthread_create (&t[i], NULL, churn,
			    (void *) (uintptr_t) (i + 1 + round * THREADS)) != 0)
	  fail ("pthread_create failed", i, 0);
      if (pthread_create (&t[THREADS], NULL, forker,
			  (void *) (uintptr_t) round) != 0)
	fail ("pthread_create failed", THREADS, 0);
      for (int i = 0; i <= THREADS; i++)
	pthread_join (t[i], NULL);
      drain (mailbox, MAILBOX);
    }
  puts ("stress ok");
  return 0;
}
