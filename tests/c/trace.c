/* Drives the tracer of `--trace' builds (stubs/options/trace.c); the test
   (crates/cli/tests/options.rs) reads the trace it leaves.
     trace leak          -- a planted leak among calls of every kind, libc's
                            own allocations (strdup, fopen) included; prints
                            "leak <pointer>"
     trace threads N M   -- N threads, each M malloc and free pairs
     trace fork          -- an allocation in the parent, in the child, and
                            in the parent again
     trace exec          -- executes `ls -l /proc/self/fd' with an empty
                            environment (the trace file must not be open)  */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* An allocation the compiler cannot drop.  */
static void
use (size_t n)
{
  void *volatile p = malloc (n);
  free (p);
}

static void *
churn (void *arg)
{
  long m = (long) arg;
  for (long i = 0; i < m; i++)
    {
      void *volatile p = malloc (16 + i % 200);
      free (p);
    }
  return NULL;
}

int
main (int argc, char **argv)
{
  const char *mode = argc > 1 ? argv[1] : "leak";
  if (strcmp (mode, "leak") == 0)
    {
      void *volatile leak = malloc (77);
      char *s = strdup ("hello");
      free (s);
      FILE *f = fopen ("/proc/self/status", "r");
      if (f != NULL)
	fclose (f);
      /* volatile: the compiler may drop an allocation nobody reads.  */
      void *volatile c = calloc (3, 40);
      void *volatile r = realloc (NULL, 10);
      r = realloc (r, 5000);
      void *a = NULL;
      if (posix_memalign (&a, 64, 100) != 0)
	return 1;
      void *volatile m = memalign (32, 50);
      free (c);
      free (r);
      free (a);
      free (m);
      free (NULL);
      printf ("leak %p\n", leak);
    }
  else if (strcmp (mode, "threads") == 0 && argc == 4)
    {
      int n = atoi (argv[2]);
      long m = atol (argv[3]);
      pthread_t t[64];
      for (int i = 0; i < n && i < 64; i++)
	pthread_create (&t[i], NULL, churn, (void *) m);
      for (int i = 0; i < n && i < 64; i++)
	pthread_join (t[i], NULL);
    }
  else if (strcmp (mode, "fork") == 0)
    {
      use (111);
      fflush (stdout);
      pid_t pid = fork ();
      if (pid == 0)
	{
	  use (222);
	  printf ("child %d\n", (int) getpid ());
	  fflush (stdout);
	  _exit (0);
	}
      waitpid (pid, NULL, 0);
      use (333);
    }
  else if (strcmp (mode, "exec") == 0)
    {
      use (10);
      char *env[] = { NULL };
      execle ("/bin/ls", "ls", "-l", "/proc/self/fd", (char *) NULL, env);
      return 1;
    }
  else
    return 2;
  return 0;
}
