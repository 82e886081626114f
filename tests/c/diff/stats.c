/* Checks the statistics interfaces on a heap with chunks in the tcache, fastbins, unsorted, small and large bins and mmapped: mallinfo, mallinfo2 (looked up with dlsym where the version has it), malloc_stats (on stderr), and malloc_info's XML (on stderr, through a pipe, and into a memstream) and its error return.  */
/* diff: link libdl.so.2 */
/* diff: allow malloc_info@GLIBC_2.10 */
#include "diff.h"

#include <dlfcn.h>

/* dlsym@GLIBC_2.2.5 is libdl's before 2.34 and libc's after.  */
__asm__ (".symver dlsym, dlsym@GLIBC_2.2.5");

/* Copies everything readable from FD to standard output.  */
static void
relay (int fd)
{
  char buf[4096];
  ssize_t n;
  while ((n = read (fd, buf, sizeof buf)) > 0)
    for (ssize_t done = 0; done < n;)
      {
	ssize_t w = write (STDOUT_FILENO, buf + done, n - done);
	if (w <= 0)
	  _exit (3);
	done += w;
      }
}

int
main (int argc, char **argv)
{
  diff_init (argc, argv);
  /* Before anything is allocated: dlsym must not leave a trace in the
     heap that differs between libcs.  */
  struct mallinfo2 (*mallinfo2_fn) (void) = NULL;
  if (has ("mallinfo2"))
    {
      *(void **) &mallinfo2_fn = dlsym (RTLD_DEFAULT, "mallinfo2");
      CHECK (mallinfo2_fn != NULL);
    }
  base_at (malloc (1));

  /* Some of every kind.  */
  void *f[12];
  for (int i = 0; i < 12; i++)
    f[i] = malloc (40);
  void *s[12];
  for (int i = 0; i < 12; i++)
    {
      s[i] = malloc (0x180);
      malloc (1);
    }
  void *l[4];
  for (int i = 0; i < 4; i++)
    {
      l[i] = malloc (0x500 + 0x100 * i);
      malloc (1);
    }
  void *u = malloc (0x800);
  malloc (1);
  void *m1 = malloc (200000), *m2 = malloc (300000);
  for (int i = 0; i < 12; i++)
    free (f[i]);
  for (int i = 0; i < 12; i++)
    free (s[i]);
  for (int i = 0; i < 4; i++)
    free (l[i]);
  malloc (0x3000);		/* sorts them into their bins */
  free (u);
  info ("mallinfo");
  if (mallinfo2_fn != NULL)
    {
      struct mallinfo2 mi = mallinfo2_fn ();
      say ("mallinfo2: arena=%zu ordblks=%zu smblks=%zu hblks=%zu "
	   "hblkhd=%zu usmblks=%zu fsmblks=%zu uordblks=%zu fordblks=%zu "
	   "keepcost=%zu\n", mi.arena, mi.ordblks, mi.smblks, mi.hblks,
	   mi.hblkhd, mi.usmblks, mi.fsmblks, mi.uordblks, mi.fordblks,
	   mi.keepcost);
      struct mallinfo old = mallinfo ();
      CHECK (mi.arena == (size_t) old.arena
	     && mi.uordblks == (size_t) old.uordblks);
    }

  malloc_stats ();
  say ("malloc_info(0, stderr) = %d\n", malloc_info (0, stderr));
  errno = 0;
  int rc = malloc_info (1, stderr);
  say ("malloc_info(1, stderr) = %d errno=%d\n", rc, errno);

  /* Through a pipe, from a stream with a buffer that is not the heap's
     (the stream itself is).  */
  int fds[2];
  CHECK (pipe (fds) == 0);
  FILE *fp = fdopen (fds[1], "w");
  CHECK (fp != NULL);
  static char buf[1 << 16];
  setvbuf (fp, buf, _IOFBF, sizeof buf);
  say ("malloc_info(0, pipe) = %d\n", malloc_info (0, fp));
  fclose (fp);
  relay (fds[0]);
  close (fds[0]);

  /* Into a memstream, whose buffer is allocated as the XML is written.  */
  char *text = NULL;
  size_t len = 0;
  FILE *ms = open_memstream (&text, &len);
  CHECK (ms != NULL);
  say ("malloc_info(0, memstream) = %d\n", malloc_info (0, ms));
  fclose (ms);
  CHECK (text != NULL && strlen (text) == len);
  for (size_t done = 0; done < len;)
    {
      ssize_t w = write (STDOUT_FILENO, text + done, len - done);
      CHECK (w > 0);
      done += w;
    }
  free (text);
  free (m1);
  free (m2);
  malloc_stats ();
  info ("end");
  return 0;
}
