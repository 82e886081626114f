/* Checks the allocation hooks of versions that have them (__malloc_hook, __free_hook, __realloc_hook, __memalign_hook, __after_morecore_hook): each is called with the request and the chunk, calloc goes through __malloc_hook, and unhooking restores the allocator.  */
/* diff: requires hooks */
#include "diff.h"

/* Declared by <malloc.h> only up to 2.33; every version that has them
   exports them as GLIBC_2.2.5.  */
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

static void *(*old_malloc) (size_t, const void *);
static void (*old_free) (void *, const void *);
static void *(*old_realloc) (void *, size_t, const void *);
static void *(*old_memalign) (size_t, size_t, const void *);

static void *my_malloc (size_t, const void *);
static void my_free (void *, const void *);
static void *my_realloc (void *, size_t, const void *);
static void *my_memalign (size_t, size_t, const void *);

static void
unhook (void)
{
  __malloc_hook = old_malloc;
  __free_hook = old_free;
  __realloc_hook = old_realloc;
  __memalign_hook = old_memalign;
}

static void
hook (void)
{
  old_malloc = __malloc_hook;
  old_free = __free_hook;
  old_realloc = __realloc_hook;
  old_memalign = __memalign_hook;
  __malloc_hook = my_malloc;
  __free_hook = my_free;
  __realloc_hook = my_realloc;
  __memalign_hook = my_memalign;
}

int main (int, char **);

/* Whether the hook's caller argument is in this program's code.  */
static const char *
caller (const void *c)
{
  uintptr_t a = (uintptr_t) c, m = (uintptr_t) &main;
  return a + 0x100000 > m && a < m + 0x100000 ? "program" : "elsewhere";
}

static void *
my_malloc (size_t n, const void *c)
{
  unhook ();
  void *p = malloc (n);
  say ("  malloc hook(%zu) from %s -> %s\n", n, caller (c), where (p));
  hook ();
  return p;
}

static void
my_free (void *p, const void *c)
{
  unhook ();
  say ("  free hook(%s) from %s\n", where (p), caller (c));
  free (p);
  hook ();
}

static void *
my_realloc (void *p, size_t n, const void *c)
{
  unhook ();
  const char *old = where (p);
  void *q = realloc (p, n);
  say ("  realloc hook(%s, %zu) from %s -> %s\n", old, n, caller (c),
       where (q));
  hook ();
  return q;
}

static void *
my_memalign (size_t align, size_t n, const void *c)
{
  unhook ();
  void *p = memalign (align, n);
  say ("  memalign hook(%zu, %zu) from %s -> %s\n", align, n, caller (c),
       where (p));
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
  diff_init (argc, argv);
  /* Before the first allocation, __malloc_hook initialises malloc.  */
  say ("initial hooks: malloc %s, free %s, realloc %s, memalign %s\n",
       __malloc_hook ? "set" : "NULL", __free_hook ? "set" : "NULL",
       __realloc_hook ? "set" : "NULL", __memalign_hook ? "set" : "NULL");
  __after_morecore_hook = after_morecore;
  base_at (malloc (24));
  say ("after the first malloc: malloc hook %s, morecore hook called %d\n",
       __malloc_hook ? "set" : "NULL", morecore_calls);

  hook ();
  void *p = malloc (100);
  void *q = calloc (10, 10);
  p = realloc (p, 2000);
  void *m = memalign (64, 100);
  void *v = valloc (100);
  free (p);
  free (q);
  free (m);
  free (v);
  unhook ();
  say ("unhooked\n");
  show ("malloc(100)", malloc (100));
  for (int i = 0; i < 5; i++)
    malloc (100000);
  say ("morecore hook called %d times\n", morecore_calls);
  info ("end");
  return 0;
}
