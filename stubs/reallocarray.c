/* Bridges reallocarray, allocator API of the host's <malloc.h> (glibc
   2.26 and later), for versions that lack it.  Without it a program built
   on the host that calls reallocarray under an older version's allocator
   would reach the host's own, which reallocs with the host's idle
   allocator memory this one handed out.  The resolver compiles this file
   only for versions whose malloc/Versions has no reallocarray (from 2.26
   on, glibc's malloc/reallocarray.c defines it); it is that file's
   function: realloc of the product, ENOMEM when the product overflows.
   It calls the public realloc, so that a build option's wrapper of realloc
   (stubs/options/entry.c: tracing) sees the call.  */
#include <errno.h>
#include <stddef.h>

extern void *realloc (void *ptr, size_t size);
void *reallocarray (void *ptr, size_t nmemb, size_t elem_size);

void *
reallocarray (void *ptr, size_t nmemb, size_t elem_size)
{
  size_t bytes;
  if (__builtin_mul_overflow (nmemb, elem_size, &bytes))
    {
      __set_errno (ENOMEM);
      return NULL;
    }
  return realloc (ptr, bytes);
}
