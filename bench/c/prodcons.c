/* A multi-threaded producer/consumer churn: PAIRS producer threads malloc
   blocks of varying size, fill a few bytes and pass them through a bounded
   queue to as many consumer threads, which check and free them (so memory
   crosses threads and arenas).  Fixed work: ITEMS blocks per producer.
     prodcons [PAIRS [ITEMS]]   (default 2 200000)  */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

enum { QUEUE = 1024 };

static void *queue[QUEUE];
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
  for (long i = 0; i < items; i++)
    {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      size_t size = 16 + x % 2000;
      unsigned char *p = malloc (size);
      p[0] = (unsigned char) size;
      pthread_mutex_lock (&lock);
      while (tail - head == QUEUE)
	pthread_cond_wait (&not_full, &lock);
      queue[tail++ % QUEUE] = p;
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
  for (long i = 0; i < items; i++)
    {
      pthread_mutex_lock (&lock);
      while (tail == head)
	pthread_cond_wait (&not_empty, &lock);
      unsigned char *p = queue[head++ % QUEUE];
      pthread_cond_signal (&not_full);
      pthread_mutex_unlock (&lock);
      sum += p[0];
      free (p);
    }
  __atomic_fetch_add (&checksum, sum, __ATOMIC_RELAXED);
  return NULL;
}

int
main (int argc, char **argv)
{
  int pairs = argc > 1 ? atoi (argv[1]) : 2;
  items = argc > 2 ? atol (argv[2]) : 200000;
  pthread_t t[128];
  if (pairs < 1 || pairs > 64)
    return 2;
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
