/* The exported entry points, when a build option wraps them (the
   manifest's `options`: `resolver build --hooks`, `--trace`).  The option
   renames glibc's definitions, for glibc's units only (malloc becomes
   __malloc_standalone_glibc_malloc, ...), and this file defines the public
   names on top of them:

   - MALLOC_STANDALONE_HOOKS (versions from 2.34, whose malloc.c defines the
     hook variables for old binaries but no longer calls them): each entry
     point first calls its hook, as glibc 2.33 did: __malloc_hook for malloc
     and calloc (after calloc's overflow check; the hook's memory is
     cleared), __realloc_hook for realloc and reallocarray (after its
     overflow check), __memalign_hook for memalign, aligned_alloc, valloc,
     pvalloc (page-rounded as 2.33 rounded it) and posix_memalign (after its
     alignment check), __free_hook for free, even of NULL, and for
     free_sized and free_aligned_sized, which 2.33 did not have.  The hooks
     start NULL.  __after_morecore_hook is called by stubs/morecore.c.
   - MALLOC_STANDALONE_TRACE: each call is recorded once it returns (a free
     before it frees, so that no other thread can get the memory back
     first), by stubs/options/trace.c.  With tracing off (the variable
     unset), each wrapper ends in a tail call, so glibc's own hooks (up to
     2.33) still see the program as their caller; with it on, they see the
     wrapper.

   An entry point the version lacks (free_sized before 2.43) has a null
   weak reference here, and its wrapper is not exported.  The wrappers are
   weak definitions: where the version lacks an entry point that the host's
   API has and a stub bridges (reallocarray before 2.26, stubs/
   reallocarray.c), the bridge's strong definition is the public one, and
   it calls the wrapped realloc.  */
#include <errno.h>
#include <malloc.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef MALLOC_STANDALONE_TRACE
# include "trace.h"
#endif

#define GLIBC(name) __malloc_standalone_glibc_##name
#define DECLARE(ret, name, params) \
  extern ret GLIBC (name) params __attribute__ ((weak)) attribute_hidden

DECLARE (void *, malloc, (size_t));
DECLARE (void, free, (void *));
DECLARE (void *, calloc, (size_t, size_t));
DECLARE (void *, realloc, (void *, size_t));
DECLARE (void *, reallocarray, (void *, size_t, size_t));
DECLARE (void *, memalign, (size_t, size_t));
DECLARE (void *, aligned_alloc, (size_t, size_t));
DECLARE (int, posix_memalign, (void **, size_t, size_t));
DECLARE (void *, valloc, (size_t));
DECLARE (void *, pvalloc, (size_t));
DECLARE (void, free_sized, (void *, size_t));
DECLARE (void, free_aligned_sized, (void *, size_t, size_t));

#ifdef MALLOC_STANDALONE_HOOKS
extern void *(*__malloc_hook) (size_t, const void *);
extern void (*__free_hook) (void *, const void *);
extern void *(*__realloc_hook) (void *, size_t, const void *);
extern void *(*__memalign_hook) (size_t, size_t, const void *);
# define HOOK(name) (*(__typeof (name) volatile *) &(name))
#endif

/* With tracing off, each wrapper ends in a tail call of glibc's function,
   so that the return address glibc's own hooks see (up to 2.33) is the
   program's.  */
#ifdef MALLOC_STANDALONE_TRACE
/* On x86_64 without hooks, the wrappers are two instructions while tracing
   is off: compare the flag and jump to glibc's function on equal.  GCC
   cannot emit a conditional tail call, and its wrapper took three (compare,
   branch, jump), which cost 1.1-1.3% on a program that does nothing but
   allocator calls (bench/results/trace.md).  With tracing on, the wrapper
   passes its return address, the program's, as traced_NAME's last argument
   (REG) and tail-calls it.  */
# if defined __x86_64__ && !defined MALLOC_STANDALONE_HOOKS
#  define ENTRY_ASM 1
#  if defined __CET__ && (__CET__ & 1)
#   define ENTRY_ENDBR "endbr64\n\t"
#  else
#   define ENTRY_ENDBR ""
#  endif
#  define ENTRY(name, reg) \
  asm (".text\n\t" \
       ".weak " #name "\n\t" \
       ".type " #name ", @function\n\t" \
       ".p2align 4\n" \
       #name ":\n\t" \
       ".weak __malloc_standalone_glibc_" #name "\n\t" \
       ".hidden __malloc_standalone_glibc_" #name "\n\t" \
       ".cfi_startproc\n\t" \
       ENTRY_ENDBR \
       "cmpb $0, __malloc_standalone_tracing(%rip)\n\t" \
       "je __malloc_standalone_glibc_" #name "\n\t" \
       "movq (%rsp), %" reg "\n\t" \
       "jmp traced_" #name "\n\t" \
       ".cfi_endproc\n\t" \
       ".size " #name ", .-" #name "\n\t" \
       ".previous")
# endif
# define TRACING __glibc_unlikely (__malloc_standalone_tracing)
# define TRACE(...) \
  __malloc_standalone_trace (&(struct trace_call) { __VA_ARGS__ })
#else
# define TRACING false
# define TRACE(...) do { } while (0)
#endif

/* The public definition of an entry point (see above: weak).  */
#define PUBLIC __attribute__ ((weak))

/* A traced_NAME function records one call to NAME; it is cold, so that the
   wrappers stay short.  */
#ifdef ENTRY_ASM
# define TRACED __attribute__ ((noinline, cold, used)) attribute_hidden
#else
# define TRACED static __attribute__ ((noinline, cold))
#endif

/* 2.33's __memalign_hook path: the hook, else glibc's function.  */
#ifdef MALLOC_STANDALONE_HOOKS
# define MEMALIGN_HOOK(alignment, bytes, caller) \
  void *(*mhook) (size_t, size_t, const void *) = HOOK (__memalign_hook); \
  if (__glibc_unlikely (mhook != NULL)) \
    return mhook (alignment, bytes, caller)
#else
# define MEMALIGN_HOOK(alignment, bytes, caller) do { } while (0)
#endif

static void *
hooked_malloc (size_t bytes, const void *caller)
{
#ifdef MALLOC_STANDALONE_HOOKS
  void *(*hook) (size_t, const void *) = HOOK (__malloc_hook);
  if (__glibc_unlikely (hook != NULL))
    return hook (bytes, caller);
#endif
  (void) caller;
  return GLIBC (malloc) (bytes);
}

#ifdef MALLOC_STANDALONE_TRACE
TRACED void *
traced_malloc (size_t bytes, const void *caller)
{
  void *r = hooked_malloc (bytes, caller);
  TRACE (.op = TRACE_MALLOC, .size = bytes, .ret = r, .caller = caller);
  return r;
}
#endif

#ifndef ENTRY_ASM
PUBLIC void *
malloc (size_t bytes)
{
  if (TRACING)
    return traced_malloc (bytes, __builtin_return_address (0));
  return hooked_malloc (bytes, __builtin_return_address (0));
}
#endif

/* 2.33's __free_hook path: true if the hook took the call.  */
static inline bool
free_hooked (void *mem, const void *caller)
{
#ifdef MALLOC_STANDALONE_HOOKS
  void (*hook) (void *, const void *) = HOOK (__free_hook);
  if (__glibc_unlikely (hook != NULL))
    {
      hook (mem, caller);
      return true;
    }
#endif
  (void) mem, (void) caller;
  return false;
}

/* A free is recorded before it frees: afterwards another thread may be
   given the same memory, and its record must come later.  */
#ifdef MALLOC_STANDALONE_TRACE
TRACED void
traced_free (void *mem, const void *caller)
{
  TRACE (.op = TRACE_FREE, .ptr = mem, .caller = caller);
  if (!free_hooked (mem, caller))
    GLIBC (free) (mem);
}

TRACED void
traced_free_sized (void *mem, size_t size, const void *caller)
{
  TRACE (.op = TRACE_FREE_SIZED, .ptr = mem, .size = size, .caller = caller);
  if (!free_hooked (mem, caller))
    GLIBC (free_sized) (mem, size);
}

TRACED void
traced_free_aligned_sized (void *mem, size_t alignment, size_t size,
			   const void *caller)
{
  TRACE (.op = TRACE_FREE_ALIGNED_SIZED, .ptr = mem, .alignment = alignment,
	 .size = size, .caller = caller);
  if (!free_hooked (mem, caller))
    GLIBC (free_aligned_sized) (mem, alignment, size);
}
#endif

#ifndef ENTRY_ASM
PUBLIC void
free (void *mem)
{
  if (TRACING)
    {
      traced_free (mem, __builtin_return_address (0));
      return;
    }
  if (free_hooked (mem, __builtin_return_address (0)))
    return;
  GLIBC (free) (mem);
}
#endif

#ifndef ENTRY_ASM
PUBLIC void
free_sized (void *mem, size_t size)
{
  if (TRACING)
    {
      traced_free_sized (mem, size, __builtin_return_address (0));
      return;
    }
  if (free_hooked (mem, __builtin_return_address (0)))
    return;
  GLIBC (free_sized) (mem, size);
}
#endif

#ifndef ENTRY_ASM
PUBLIC void
free_aligned_sized (void *mem, size_t alignment, size_t size)
{
  if (TRACING)
    {
      traced_free_aligned_sized (mem, alignment, size,
					__builtin_return_address (0));
      return;
    }
  if (free_hooked (mem, __builtin_return_address (0)))
    return;
  GLIBC (free_aligned_sized) (mem, alignment, size);
}
#endif

static void *
hooked_calloc (size_t n, size_t elem_size, const void *caller)
{
#ifdef MALLOC_STANDALONE_HOOKS
  void *(*hook) (size_t, const void *) = HOOK (__malloc_hook);
  if (__glibc_unlikely (hook != NULL))
    {
      ptrdiff_t bytes;
      if (__builtin_mul_overflow (n, elem_size, &bytes))
	{
	  errno = ENOMEM;
	  return NULL;
	}
      void *mem = hook (bytes, caller);
      return mem == NULL ? NULL : memset (mem, 0, bytes);
    }
#endif
  (void) caller;
  return GLIBC (calloc) (n, elem_size);
}

#ifdef MALLOC_STANDALONE_TRACE
TRACED void *
traced_calloc (size_t n, size_t elem_size, const void *caller)
{
  void *r = hooked_calloc (n, elem_size, caller);
  TRACE (.op = TRACE_CALLOC, .nmemb = n, .size = elem_size, .ret = r,
	  .caller = caller);
  return r;
}
#endif

#ifndef ENTRY_ASM
PUBLIC void *
calloc (size_t n, size_t elem_size)
{
  if (TRACING)
    return traced_calloc (n, elem_size, __builtin_return_address (0));
  return hooked_calloc (n, elem_size, __builtin_return_address (0));
}
#endif

static void *
hooked_realloc (void *old, size_t bytes, const void *caller)
{
#ifdef MALLOC_STANDALONE_HOOKS
  void *(*hook) (void *, size_t, const void *) = HOOK (__realloc_hook);
  if (__glibc_unlikely (hook != NULL))
    return hook (old, bytes, caller);
#endif
  (void) caller;
  return GLIBC (realloc) (old, bytes);
}

#ifdef MALLOC_STANDALONE_TRACE
TRACED void *
traced_realloc (void *old, size_t bytes, const void *caller)
{
  void *r = hooked_realloc (old, bytes, caller);
  TRACE (.op = TRACE_REALLOC, .ptr = old, .size = bytes, .ret = r,
	  .caller = caller);
  return r;
}
#endif

#ifndef ENTRY_ASM
PUBLIC void *
realloc (void *old, size_t bytes)
{
  if (TRACING)
    return traced_realloc (old, bytes, __builtin_return_address (0));
  return hooked_realloc (old, bytes, __builtin_return_address (0));
}
#endif

static void *
hooked_reallocarray (void *old, size_t n, size_t size, const void *caller)
{
#ifdef MALLOC_STANDALONE_HOOKS
  if (HOOK (__realloc_hook) != NULL)
    {
      size_t bytes;
      if (__builtin_mul_overflow (n, size, &bytes))
	{
	  errno = ENOMEM;
	  return NULL;
	}
      return hooked_realloc (old, bytes, caller);
    }
#endif
  (void) caller;
  return GLIBC (reallocarray) (old, n, size);
}

#ifdef MALLOC_STANDALONE_TRACE
TRACED void *
traced_reallocarray (void *old, size_t n, size_t size, const void *caller)
{
  void *r = hooked_reallocarray (old, n, size, caller);
  TRACE (.op = TRACE_REALLOCARRAY, .ptr = old, .nmemb = n, .size = size,
	  .ret = r, .caller = caller);
  return r;
}
#endif

#ifndef ENTRY_ASM
PUBLIC void *
reallocarray (void *old, size_t n, size_t size)
{
  if (TRACING)
    return traced_reallocarray (old, n, size, __builtin_return_address (0));
  return hooked_reallocarray (old, n, size, __builtin_return_address (0));
}
#endif

static void *
hooked_memalign (size_t alignment, size_t bytes, const void *caller)
{
  MEMALIGN_HOOK (alignment, bytes, caller);
  (void) caller;
  return GLIBC (memalign) (alignment, bytes);
}

#ifdef MALLOC_STANDALONE_TRACE
TRACED void *
traced_memalign (size_t alignment, size_t bytes, const void *caller)
{
  void *r = hooked_memalign (alignment, bytes, caller);
  TRACE (.op = TRACE_MEMALIGN, .alignment = alignment, .size = bytes,
	  .ret = r, .caller = caller);
  return r;
}
#endif

#ifndef ENTRY_ASM
PUBLIC void *
memalign (size_t alignment, size_t bytes)
{
  if (TRACING)
    return traced_memalign (alignment, bytes, __builtin_return_address (0));
  return hooked_memalign (alignment, bytes, __builtin_return_address (0));
}
#endif

static void *
hooked_aligned_alloc (size_t alignment, size_t bytes, const void *caller)
{
  MEMALIGN_HOOK (alignment, bytes, caller);
  (void) caller;
  return GLIBC (aligned_alloc) (alignment, bytes);
}

#ifdef MALLOC_STANDALONE_TRACE
TRACED void *
traced_aligned_alloc (size_t alignment, size_t bytes, const void *caller)
{
  void *r = hooked_aligned_alloc (alignment, bytes, caller);
  TRACE (.op = TRACE_ALIGNED_ALLOC, .alignment = alignment, .size = bytes,
	  .ret = r, .caller = caller);
  return r;
}
#endif

#ifndef ENTRY_ASM
PUBLIC void *
aligned_alloc (size_t alignment, size_t bytes)
{
  if (TRACING)
    return traced_aligned_alloc (alignment, bytes, __builtin_return_address (0));
  return hooked_aligned_alloc (alignment, bytes, __builtin_return_address (0));
}
#endif

static void *
hooked_valloc (size_t bytes, const void *caller)
{
  MEMALIGN_HOOK ((size_t) getpagesize (), bytes, caller);
  (void) caller;
  return GLIBC (valloc) (bytes);
}

#ifdef MALLOC_STANDALONE_TRACE
TRACED void *
traced_valloc (size_t bytes, const void *caller)
{
  void *r = hooked_valloc (bytes, caller);
  TRACE (.op = TRACE_VALLOC, .size = bytes, .ret = r, .caller = caller);
  return r;
}
#endif

#ifndef ENTRY_ASM
PUBLIC void *
valloc (size_t bytes)
{
  if (TRACING)
    return traced_valloc (bytes, __builtin_return_address (0));
  return hooked_valloc (bytes, __builtin_return_address (0));
}
#endif

static void *
hooked_pvalloc (size_t bytes, const void *caller)
{
#ifdef MALLOC_STANDALONE_HOOKS
  if (HOOK (__memalign_hook) != NULL)
    {
      size_t pagesize = getpagesize (), rounded;
      if (__builtin_add_overflow (bytes, pagesize - 1, &rounded))
	{
	  errno = ENOMEM;
	  return NULL;
	}
      /* 2.33's rounding, mask and all.  */
      rounded &= -(pagesize - 1);
      return HOOK (__memalign_hook) (pagesize, rounded, caller);
    }
#endif
  (void) caller;
  return GLIBC (pvalloc) (bytes);
}

#ifdef MALLOC_STANDALONE_TRACE
TRACED void *
traced_pvalloc (size_t bytes, const void *caller)
{
  void *r = hooked_pvalloc (bytes, caller);
  TRACE (.op = TRACE_PVALLOC, .size = bytes, .ret = r, .caller = caller);
  return r;
}
#endif

#ifndef ENTRY_ASM
PUBLIC void *
pvalloc (size_t bytes)
{
  if (TRACING)
    return traced_pvalloc (bytes, __builtin_return_address (0));
  return hooked_pvalloc (bytes, __builtin_return_address (0));
}
#endif

static int
hooked_posix_memalign (void **memptr, size_t alignment, size_t size,
		       const void *caller)
{
#ifdef MALLOC_STANDALONE_HOOKS
  if (HOOK (__memalign_hook) != NULL)
    {
      if (alignment % sizeof (void *) != 0
	  || (alignment / sizeof (void *) & (alignment / sizeof (void *) - 1))
	  || alignment == 0)
	return EINVAL;
      void *mem = HOOK (__memalign_hook) (alignment, size, caller);
      if (mem == NULL)
	return ENOMEM;
      *memptr = mem;
      return 0;
    }
#endif
  (void) caller;
  return GLIBC (posix_memalign) (memptr, alignment, size);
}

#ifdef MALLOC_STANDALONE_TRACE
TRACED int
traced_posix_memalign (void **memptr, size_t alignment, size_t size, const void *caller)
{
  int result = hooked_posix_memalign (memptr, alignment, size, caller);
  TRACE (.op = TRACE_POSIX_MEMALIGN, .alignment = alignment, .size = size,
	  .ret = result == 0 ? *memptr : NULL, .result = result,
	  .caller = caller);
  return result;
}
#endif

#ifndef ENTRY_ASM
PUBLIC int
posix_memalign (void **memptr, size_t alignment, size_t size)
{
  if (TRACING)
    return traced_posix_memalign (memptr, alignment, size, __builtin_return_address (0));
  return hooked_posix_memalign (memptr, alignment, size, __builtin_return_address (0));
}
#endif

#ifdef ENTRY_ASM
ENTRY (malloc, "rsi");
ENTRY (free, "rsi");
ENTRY (valloc, "rsi");
ENTRY (pvalloc, "rsi");
ENTRY (calloc, "rdx");
ENTRY (realloc, "rdx");
ENTRY (memalign, "rdx");
ENTRY (aligned_alloc, "rdx");
ENTRY (free_sized, "rdx");
ENTRY (reallocarray, "rcx");
ENTRY (posix_memalign, "rcx");
ENTRY (free_aligned_sized, "rcx");
#endif
