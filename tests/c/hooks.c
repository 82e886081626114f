/* Checks the five allocation hooks as glibc up to 2.33 calls them: which
   entry point calls which hook, with what arguments (sizes, alignments,
   the caller), calloc's clearing of the hook's memory, the checks that
   come before a hook (calloc overflow, posix_memalign's alignment),
   free's hook even for NULL, what a hook returns being what the program
   gets, __after_morecore_hook after the heap grows, and unhooking.  The
   transcript has no addresses, so the real glibc 2.31, our 2.31 and our
   `--hooks` builds of later versions must print the same.  Built for the
   oldest glibc (tests/c/old_start.c).  */
#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void *(*__malloc_hook) (size_t, const void *);
extern void (*__free_hook) (void *, const void *);
extern void *(*__realloc_hook) (void *, size_t, const void *);
extern void *(*__memalign_hook) (size_t, size_t, const void *);
extern void (*__after_morecore_hook) (void);
__asm__ (".symver __malloc_hook, __malloc_hook@GLIBC_2.2.5");
__asm__ (".symver __free_hook, __free_hook@GLIBC_2.2.5");
__asm__ (".symver __realloc_hook, __realloc_hook@GLIBC_2.2.5");
__asm__ (".symver __memalign_hook, __memalign_hook@GLIBC_2.2.5");
__asm__ (".symver __after_morecore_hook, __after_morecore_hook@GLIBC_2.2.5");
/* Newer than GLIBC_2.2.5 in the host's libc; the old names exist too.  */
__asm__ (".symver aligned_alloc, aligned_alloc@GLIBC_2.16");
__asm__ (".symver reallocarray, reallocarray@GLIBC_2.26");

/* stdio's buffers would come from the allocator under test.  */
static void
say (const char *fmt, ...)
{
  char buf[256];
  va_list ap;
  va_start (ap, fmt);
  int n = vsnprintf (buf, sizeof buf, fmt, ap);
  va_end (ap);
  if (write (1, buf, n) != n)
    _exit (2);
}

int main (int, char **);

static const char *
from (const void *c)
{
  uintptr_t a = (uintptr_t) c, m = (uintptr_t) &main;
  return a + 0x100000 > m && a < m + 0x100000 ? "the program" : "elsewhere";
}

static char canned[256] __attribute__ ((aligned (64)));
static int give_canned;

static void *my_malloc (size_t, const void *);
static void my_free (void *, const void *);
static void *my_realloc (void *, size_t, const void *);
static void *my_memalign (size_t, size_t, const void *);

static void
unhook (void)
{
  __malloc_hook = NULL;
  __free_hook = NULL;
  __realloc_hook = NULL;
  __memalign_hook = NULL;
}

static void
hook (void)
{
  __malloc_hook = my_malloc;
  __free_hook = my_free;
  __realloc_hook = my_realloc;
  __memalign_hook = my_memalign;
}

static void *
my_malloc (size_t n, const void *c)
{
  say ("  malloc hook (%zu) from %s\n", n, from (c));
  if (give_canned)
    {
      memset (canned, 0xaa, sizeof canned);
      return canned;
    }
  unhook ();
  void *p = malloc (n);
  hook ();
  return p;
}

static void
my_free (void *p, const void *c)
{
  say ("  free hook (%s) from %s\n", p == NULL ? "NULL" : "a pointer",
       from (c));
  unhook ();
  free (p);
  hook ();
}

static void *
my_realloc (void *p, size_t n, const void *c)
{
  say ("  realloc hook (%s, %zu) from %s\n", p == NULL ? "NULL" : "a pointer",
       n, from (c));
  unhook ();
  void *q = realloc (p, n);
  hook ();
  return q;
}

static void *
my_memalign (size_t align, size_t n, const void *c)
{
  say ("  memalign hook (%zu, %zu) from %s\n", align, n, from (c));
  unhook ();
  void *p = memalign (align, n);
  hook ();
  return p;
}

static int morecore_calls;

static void
after_morecore (void)
{
  morecore_calls++;
}

int
main (int argc, char **argv)
{
  (void) argc, (void) argv;
  /* Up to 2.33 the first malloc goes through a __malloc_hook that
     initialises malloc and clears itself; __realloc_hook and
     __memalign_hook keep their initialising hooks until their first call.
     (The `--hooks' builds start with all four NULL.)  */
  free (malloc (24));
  say ("after the first malloc: malloc hook %s, free hook %s\n",
       __malloc_hook == NULL ? "NULL" : "set",
       __free_hook == NULL ? "NULL" : "set");
  __after_morecore_hook = after_morecore;

  hook ();
  say ("malloc (100)\n");
  void *p = malloc (100);
  say ("calloc (10, 10)\n");
  void *q = calloc (10, 10);
  say ("calloc (SIZE_MAX / 2, 4)\n");
  errno = 0;
  volatile size_t huge = SIZE_MAX / 2;
  void *big = calloc (huge, 4);
  say ("  -> %s, errno %s\n", big == NULL ? "NULL" : "memory",
       errno == ENOMEM ? "ENOMEM" : "other");
  say ("realloc (p, 2000)\n");
  p = realloc (p, 2000);
  say ("reallocarray (p, 30, 10)\n");
  p = reallocarray (p, 30, 10);
  say ("memalign (64, 100)\n");
  void *m = memalign (64, 100);
  say ("aligned_alloc (256, 512)\n");
  void *a = aligned_alloc (256, 512);
  say ("valloc (100)\n");
  void *v = valloc (100);
  say ("pvalloc (100)\n");
  void *pv = pvalloc (100);
  say ("posix_memalign (128, 50)\n");
  void *pm = NULL;
  int rc = posix_memalign (&pm, 128, 50);
  say ("  -> %d, %s\n", rc, pm != NULL ? "memory" : "none");
  say ("posix_memalign (24, 50)\n");
  void *bad = NULL;
  rc = posix_memalign (&bad, 24, 50);
  say ("  -> %s\n", rc == EINVAL ? "EINVAL" : "other");
  say ("free (NULL)\n");
  free (NULL);
  say ("free (each)\n");
  free (p);
  free (q);
  free (m);
  free (a);
  free (v);
  free (pv);
  free (pm);

  say ("a malloc hook's memory is what the program gets\n");
  give_canned = 1;
  char *c = malloc (16);
  say ("  malloc: %s\n", c == canned ? "the hook's" : "other");
  char *z = calloc (4, 8);
  say ("  calloc: %s, cleared %s\n", z == canned ? "the hook's" : "other",
       z[0] == 0 && z[31] == 0 && (unsigned char) z[32] == 0xaa ? "32 bytes"
       : "wrongly");
  give_canned = 0;

  unhook ();
  say ("unhooked: malloc (100)\n");
  free (malloc (100));
  int before = morecore_calls;
  for (int i = 0; i < 8; i++)
    if (malloc (100000) == NULL)
      say ("  malloc failed\n");
  say ("the heap grew: after-morecore hook called %s\n",
       morecore_calls > before ? "again" : "not again");
  return 0;
}
