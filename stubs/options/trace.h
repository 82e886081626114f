/* The tracer's interface to the entry points (stubs/options/entry.c), in
   the `trace' build option.  */
#ifndef MALLOC_STANDALONE_TRACE_H
#define MALLOC_STANDALONE_TRACE_H

#include <stdbool.h>
#include <stddef.h>

enum trace_op
{
  TRACE_MALLOC,
  TRACE_CALLOC,
  TRACE_REALLOC,
  TRACE_REALLOCARRAY,
  TRACE_FREE,
  TRACE_FREE_SIZED,
  TRACE_FREE_ALIGNED_SIZED,
  TRACE_MEMALIGN,
  TRACE_ALIGNED_ALLOC,
  TRACE_POSIX_MEMALIGN,
  TRACE_VALLOC,
  TRACE_PVALLOC,
};

/* One call: its arguments, what it returned, and where it came from.  */
struct trace_call
{
  enum trace_op op;
  size_t size, nmemb, alignment;
  void *ptr;			/* The pointer passed in.  */
  void *ret;			/* The pointer returned (or stored).  */
  int result;			/* posix_memalign's return value.  */
  const void *caller;
};

/* Whether MALLOC_STANDALONE_TRACE switched tracing on (read once, at the
   first entry into the allocator).  */
extern bool __malloc_standalone_tracing attribute_hidden;

/* Records CALL; never allocates, and ignores calls made while it runs.  */
extern void __malloc_standalone_trace (const struct trace_call *call)
  attribute_hidden;

#endif
