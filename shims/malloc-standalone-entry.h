/* Not a glibc header: the allocator's entry gate.  libc does three things
   for malloc before or around any call: it initialises malloc at startup
   (__ptmalloc_init, from 2.42 on not lazy), registers malloc's fork
   handlers, and frees a thread's tcache and arena at thread exit.  An
   LD_PRELOADed library's constructor runs too late for the first (other
   libraries' constructors and ld.so already allocate), and a thread exit
   hook needs registering per thread.  So the first time each thread takes
   a malloc lock or tests SINGLE_THREAD_P, which every allocation does
   before it touches an arena, it calls into stubs/lifecycle.c.  */
#ifndef MALLOC_STANDALONE_ENTRY_H
#define MALLOC_STANDALONE_ENTRY_H

#include <stdbool.h>

extern __thread bool __malloc_standalone_thread_entered
  __attribute__ ((tls_model ("initial-exec"))) attribute_hidden;
extern void __malloc_standalone_first_entry (void) attribute_hidden;

/* The value of NAME in the environment the kernel passed at startup
   (stubs/tunables.c): it exists before libc has set environ.  */
extern const char *__malloc_standalone_getenv (const char *name)
  attribute_hidden;
/* Makes __morecore the main arena's growth function and maps the region of
   MALLOC_STANDALONE_HEAP (stubs/morecore.c); SECURE: AT_SECURE.  */
extern void __malloc_standalone_morecore_init (bool secure) attribute_hidden;

static inline void
malloc_standalone_enter (void)
{
  if (__builtin_expect (!__malloc_standalone_thread_entered, 0))
    __malloc_standalone_first_entry ();
}

#endif
