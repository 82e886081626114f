/* Checks the memalign family: memalign, posix_memalign, aligned_alloc, valloc and pvalloc with small, page, odd, zero and impossible alignments and sizes: where each chunk lands, its size and alignment, what the split leaves free, and the error returns (NULL, EINVAL, ENOMEM).  */
/* diff: allow aligned_alloc@GLIBC_2.16 */
#include "diff.h"
#include <sys/wait.h>

/* Alignments above a page put the chunk where the heap's or the
   mapping's address allows, which ASLR decides: only facts then.  */
static void
result (const char *label, size_t align, size_t n, void *p)
{
  if (p == NULL)
    {
      say ("%-26s NULL errno=%d\n", label, errno);
      return;
    }
  size_t a = align == 0 ? 1 : align;
  while (a & (a - 1))
    a &= a - 1;			/* at least the power of two below */
  CHECK ((uintptr_t) p % a == 0);
  if (align <= 4096)
    show (label, p);
  else
    {
      CHECK (malloc_usable_size (p) >= n);
      say ("%-26s %s\n", label, is_mmapped (p) ? "mmapped" : "heap");
    }
}

static const size_t sizes[] = { 0, 1, 100, 5000 };

/* A request for SIZE_MAX - 100 bytes by WHICH, in a child process: up to
   2.26 the memalign family's padding of such a size overflowed
   (CVE-2018-6485) and it returned a chunk far too small, leaving the heap
   corrupt; in a child that stays out of the rest of the program.  */
static void
huge_request (int which)
{
  size_t n = opaque (SIZE_MAX - 100);
  pid_t pid = fork ();
  CHECK (pid >= 0);
  if (pid == 0)
    {
      void *p = (void *) 1;
      errno = 0;
      switch (which)
	{
	case 0:
	  result ("memalign(64, SIZE_MAX-100)", 64, 0, memalign (64, n));
	  break;
	case 1:
	  say ("posix_memalign(64, SIZE_MAX-100) rc=%d\n",
	       posix_memalign (&p, 64, n));
	  break;
	case 2:
	  result ("pvalloc(SIZE_MAX-100)", 4096, 0, pvalloc (n));
	  break;
	default:
	  result ("valloc(SIZE_MAX-100)", 4096, 0, valloc (n));
	  break;
	}
      _exit (0);
    }
  int status;
  CHECK (waitpid (pid, &status, 0) == pid);
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    say ("  (the child ended with status %#x)\n", status);
}

/* memalign, posix_memalign and aligned_alloc of ALIGN for every size.  */
static void
try_all (size_t al)
{
  char label[64];
  for (size_t j = 0; j < sizeof sizes / sizeof sizes[0]; j++)
    {
      size_t n = sizes[j];
      errno = 0;
      snprintf (label, sizeof label, "memalign(%zu, %zu)", al, n);
      result (label, al, n, memalign (al, n));

      void *p = (void *) 1;
      errno = 0;
      int rc = posix_memalign (&p, al, n);
      snprintf (label, sizeof label, "posix_memalign(%zu, %zu)", al, n);
      if (rc != 0)
	say ("%-26s rc=%d p unchanged=%d\n", label, rc, p == (void *) 1);
      else
	result (label, al, n, p);

      errno = 0;
      snprintf (label, sizeof label, "aligned_alloc(%zu, %zu)", al, n);
      result (label, al, n, aligned_alloc (al, n));
    }
}

int
main (int argc, char **argv)
{
  diff_init (argc, argv);
  base_at (malloc (1));

  static const size_t aligns[] =
    { 0, 1, 2, 3, 8, 16, 24, 32, 48, 64, 100, 128, 256, 1024, 4096 };
  char label[64];
  for (size_t i = 0; i < sizeof aligns / sizeof aligns[0]; i++)
    try_all (aligns[i]);
  info ("aligned");

  /* What a split leaves: a chunk in front and one behind, freed.  */
  void *x = memalign (256, 300);
  show ("memalign(256, 300)", x);
  info ("after split");
  free (x);
  info ("after free");

  for (size_t j = 0; j < sizeof sizes / sizeof sizes[0]; j++)
    {
      errno = 0;
      snprintf (label, sizeof label, "valloc(%zu)", sizes[j]);
      result (label, 4096, sizes[j], valloc (sizes[j]));
      errno = 0;
      snprintf (label, sizeof label, "pvalloc(%zu)", sizes[j]);
      result (label, 4096, sizes[j], pvalloc (sizes[j]));
    }

  /* Impossible requests.  */
  static const size_t huge_aligns[] =
    { (SIZE_MAX >> 1) + 1, (SIZE_MAX >> 1) + 2, SIZE_MAX };
  for (size_t i = 0; i < sizeof huge_aligns / sizeof huge_aligns[0]; i++)
    {
      size_t al = opaque (huge_aligns[i]);
      errno = 0;
      snprintf (label, sizeof label, "memalign(%#zx, 8)", al);
      void *p = memalign (al, 8);
      say ("%-26s %s errno=%d\n", label, p == NULL ? "NULL" : "non-NULL",
	   errno);
      p = (void *) 1;
      int rc = posix_memalign (&p, al, 8);
      say ("posix_memalign(%#zx, 8) rc=%d\n", al, rc);
      errno = 0;
      p = aligned_alloc (al, 8);
      say ("aligned_alloc(%#zx, 8) %s errno=%d\n", al,
	   p == NULL ? "NULL" : "non-NULL", errno);
    }
  for (int which = 0; which < 4; which++)
    huge_request (which);
  info ("end");

  /* Last, since what they leave in the heap depends on where it is.  */
  try_all (8192);
  try_all (65536);
  try_all (1 << 20);
  return 0;
}
