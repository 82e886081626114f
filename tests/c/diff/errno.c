/* Checks errno across the allocator: free keeps the caller's errno whether
   the chunk goes to the tcache, a bin or back to the kernel (munmap), in the
   main thread and in a second thread (whose errno is another TLS slot), and
   failing calls set ENOMEM or EINVAL as the version does.  */
/* diff: link libpthread.so.0 */
/* diff: case default */
/* diff: case no-tcache GLIBC_TUNABLES=glibc.malloc.tcache_count=0 */
#include "diff.h"

#include <pthread.h>

__asm__ (".symver pthread_create, pthread_create@GLIBC_2.2.5");
__asm__ (".symver pthread_join, pthread_join@GLIBC_2.2.5");

/* Sets errno to MARK, runs free (P), and prints what errno is then.  */
static void
free_keeps (const char *label, void *p, int mark)
{
  errno = mark;
  free (p);
  int after = errno;
  say ("%-28s errno %d -> %d\n", label, mark, after);
  CHECK (after == mark);
}

/* The calls in between, in one thread.  */
static void
exercise (const char *who)
{
  char label[64];
  /* Sizes the compiler cannot see, so it neither warns nor folds.  */
  volatile size_t max = SIZE_MAX;
  void *volatile small = malloc (40);
  void *volatile medium = malloc (1200);
  void *volatile big = malloc (300000);	/* mmapped */
  void *volatile guard = malloc (24);
  snprintf (label, sizeof label, "%s free(small)", who);
  free_keeps (label, small, 1001);
  snprintf (label, sizeof label, "%s free(medium)", who);
  free_keeps (label, medium, 1002);
  snprintf (label, sizeof label, "%s free(mmapped)", who);
  free_keeps (label, big, 1003);
  snprintf (label, sizeof label, "%s free(NULL)", who);
  free_keeps (label, NULL, 1004);

  errno = 0;
  void *volatile huge = malloc (max - 4096);
  say ("%s malloc(huge) %s errno=%d\n", who, huge == NULL ? "NULL" : "non-NULL",
       errno);
  errno = 0;
  void *volatile over = calloc (max / 2, 4);
  say ("%s calloc(overflow) %s errno=%d\n", who,
       over == NULL ? "NULL" : "non-NULL", errno);
  errno = 0;
  void *volatile grown = realloc (guard, max - 64);
  say ("%s realloc(huge) %s errno=%d\n", who,
       grown == NULL ? "NULL" : "non-NULL", errno);
  errno = 0;
  void *volatile odd = memalign (max / 2 + 2, 16);
  say ("%s memalign(huge) %s errno=%d\n", who,
       odd == NULL ? "NULL" : "non-NULL", errno);
  snprintf (label, sizeof label, "%s free(after failures)", who);
  free_keeps (label, guard, 1005);
}

static void *
thread_main (void *arg)
{
  (void) arg;
  exercise ("thread");
  return NULL;
}

int
main (int argc, char **argv)
{
  diff_init (argc, argv);
  exercise ("main");
  pthread_t t;
  CHECK (pthread_create (&t, NULL, thread_main, NULL) == 0);
  CHECK (pthread_join (t, NULL) == 0);
  /* The main thread's errno was not touched by the other thread's.  */
  void *volatile last = malloc (64);
  free_keeps ("main free(after thread)", last, 1006);
  return 0;
}
