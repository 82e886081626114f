/* A multi-threaded producer/consumer churn: PAIRS producer threads malloc
   blocks of varying size, fill a few bytes and pass them, BATCH at a time,
   through a bounded queue to as many consumer threads, which check and free
   them (so memory crosses threads and arenas).  Batches keep the time in
   the allocator rather than in the queue's lock and condition variables
   (one block per hand-over made the run mostly futex calls and context
   switches, whose count varied more between runs than any allocator
   did).  Fixed work: ITEMS blocks per producer.
     prodcons [PAIRS [ITEMS]]   (default 1 2000000)  */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

enum { QUEUE = 64, BATCH = 64 };

struct batch
{
  void *p[BATCH];
};

static struct batch queue[QUEUE];
static size_t head, tail;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER;
static long items;
static unsigned long checksum;

static void *
producer (void *arg)
{
  uint64_t x = 0x9e3779b97f4a7c15ULL * (1 + (uintptr_t) arg);
  struct batch b;
  for (long i = 0; i < items / BATCH; i++)
    {
      for (int j = 0; j < BATCH; j++)
	{
	  x ^= x << 13, x ^= x >> 7, x ^= x << 17;
	  size_t size = 16 + x % 2000;
	  unsigned char *p = malloc (size);
	  p[0] = (unsigned char) size;
	  b.p[j] = p;
	}
      pthread_mutex_lock (&lock);
      while (tail - head == QUEUE)
	pthread_cond_wait (&not_full, &lock);
      queue[tail++ % QUEUE] = b;
      pthread_cond_signal (&not_empty);
      pthread_mutex_unlock (&lock);
    }
  return NULL;
}

static void *
consumer (void *arg)
{
  (void) arg;
  unsigned long sum = 0;
  for (long i = 0; i < items / BATCH; i++)
    {
      pthread_mutex_lock (&lock);
      while (tail == head)
	pthread_cond_wait (&not_empty, &lock);
      struct batch b = queue[head++ % QUEUE];
      pthread_cond_signal (&not_full);
      pthread_mutex_unlock (&lock);
      for (int j = 0; j < BATCH; j++)
	{
	  unsigned char *p = b.p[j];
	  sum += p[0];
	  free (p);
	}
    }
  __atomic_fetch_add (&checksum, sum, __ATOMIC_RELAXED);
  return NULL;
}

int
main (int argc, char **argv)
{
  int pairs = argc > 1 ? atoi (argv[1]) : 1;
  items = argc > 2 ? atol (argv[2]) : 2000000;
  pthread_t t[128];
  if (pairs < 1 || pairs > 64 || items < BATCH)
    {
      fprintf (stderr, "usage: prodcons [PAIRS (1-64) [ITEMS (at least %d)]]\n",
	       BATCH);
      return 2;
    }
  for (int i = 0; i < pairs; i++)
    {
      pthread_create (&t[2 * i], NULL, producer, (void *) (uintptr_t) i);
      pthread_create (&t[2 * i + 1], NULL, consumer, NULL);
    }
  for (int i = 0; i < 2 * pairs; i++)
    pthread_join (t[i], NULL);
  printf ("%lu\n", checksum);
  return 0;
}
