/* Stands in for what libc does for malloc around it:
   - at startup, rtld sets __libc_enable_secure and, from 2.42 on,
     __libc_early_init calls __ptmalloc_init (stubs/early_init.c; earlier
     versions initialise lazily inside malloc);
   - fork (posix/fork.c) takes malloc's locks after the atfork prepare
     handlers and releases them before the parent and child handlers,
     when the process is multi-threaded (from 2.24, whose
     malloc/malloc-internal.h declares malloc's fork functions; up to 2.23
     malloc registers atfork handlers itself, see shims/fork.h);
   - a thread's exit (nptl start_thread -> __libc_thread_freeres) returns
     its tcache and detaches its arena, after all TSD destructors: from
     2.28 by calling __malloc_arena_thread_freeres, up to 2.27 by running
     the functions malloc put in the symbol set __libc_thread_subfreeres
     (text_set_element, shims/prelude.h).
   All of it starts from __malloc_standalone_first_entry, which each
   thread reaches on its first entry into the allocator (see
   shims/malloc-standalone-entry.h), and from a constructor.  */
#include <errno.h>
#include <limits.h>
#include <malloc-standalone-entry.h>
#if __has_include (<malloc/malloc-internal.h>)
# include <malloc/malloc-internal.h>
# define MALLOC_FORK_FUNCTIONS 1
#else
# define MALLOC_FORK_FUNCTIONS 0
#endif
#include <pthread.h>
#include <stdint.h>
#include <sys/auxv.h>
#include <sys/single_threaded.h>
#include <unistd.h>

int __libc_enable_secure;
/* errno's offset from the thread pointer (shims/errno.h); 0 until known.  */
long int __malloc_standalone_errno_offset;
__thread bool __malloc_standalone_thread_entered;

/* Malloc's thread-exit work: from 2.28 a function (arena.c), up to 2.27
   the functions in a symbol set (a section the linker brackets with
   __start_/__stop_ symbols, null where no unit puts anything in it).  */
extern void __malloc_arena_thread_freeres (void)
  __attribute__ ((weak)) attribute_hidden;
extern void (*const __start___libc_thread_subfreeres[]) (void)
  __attribute__ ((weak)) attribute_hidden;
extern void (*const __stop___libc_thread_subfreeres[]) (void)
  __attribute__ ((weak)) attribute_hidden;
/* malloc's early initialisation (stubs/early_init.c, which calls
   __ptmalloc_init): in the build from 2.42 on; a null weak reference
   before.  */
extern void __malloc_standalone_early_init (void)
  __attribute__ ((weak)) attribute_hidden;
/* The tracer (stubs/options/trace.c), in `trace' builds only.  */
extern void __malloc_standalone_trace_init (bool secure)
  __attribute__ ((weak)) attribute_hidden;
extern void __malloc_standalone_trace_fork_child (void)
  __attribute__ ((weak)) attribute_hidden;

static pthread_key_t thread_exit_key;
static bool thread_exit_key_created;
static bool fork_locked;

/* libio's list lock (exported by libc since GLIBC_2.2.5, declared in no
   public header).  posix/fork.c takes it before malloc's locks; an atfork
   handler runs before fork takes it, so take it here first to keep glibc's
   order (else fflush(NULL), a FILE lock and realloc deadlock: glibc bug
   19431, tst-malloc-fork-deadlock).  It is recursive, so fork's own
   _IO_list_lock after this handler is fine.  */
extern void _IO_list_lock (void);
extern void _IO_list_unlock (void);
extern void _IO_list_resetlock (void);

static void
fork_prepare (void)
{
  /* posix/fork.c locks malloc only if the process is multi-threaded.  */
  fork_locked = MALLOC_FORK_FUNCTIONS && !__libc_single_threaded;
#if MALLOC_FORK_FUNCTIONS
  if (fork_locked)
    {
      _IO_list_lock ();
      __malloc_fork_lock_parent ();
    }
#endif
}

static void
fork_parent (void)
{
#if MALLOC_FORK_FUNCTIONS
  if (fork_locked)
    {
      __malloc_fork_unlock_parent ();
      _IO_list_unlock ();
    }
#endif
}

static void
fork_child (void)
{
  if (__malloc_standalone_trace_fork_child != NULL)
    __malloc_standalone_trace_fork_child ();
#if MALLOC_FORK_FUNCTIONS
  if (fork_locked)
    {
      __malloc_fork_unlock_child ();
      _IO_list_resetlock ();
    }
#endif
}

/* The key's value counts the destructor rounds left.  Re-arming it until
   the last round lets other keys' destructors, which may still free
   memory, run before the thread's malloc state goes away, as in glibc.  */
static void
thread_exit (void *rounds_left)
{
  uintptr_t left = (uintptr_t) rounds_left;
  if (left > 1
      && pthread_setspecific (thread_exit_key, (void *) (left - 1)) == 0)
    return;
  if (__malloc_arena_thread_freeres != NULL)
    __malloc_arena_thread_freeres ();
  for (void (*const *f) (void) = __start___libc_thread_subfreeres;
       f < __stop___libc_thread_subfreeres; f++)
    (*f) ();
}

static void
process_init (void)
{
  __libc_enable_secure = getauxval (AT_SECURE) != 0;
  {
    char *tp;
    __asm__ ("mov %%fs:0, %0" : "=r" (tp));
    __malloc_standalone_errno_offset = (char *) __errno_location () - tp;
  }
  __malloc_standalone_morecore_init (__libc_enable_secure);
  if (__malloc_standalone_trace_init != NULL)
    __malloc_standalone_trace_init (__libc_enable_secure);
  if (__malloc_standalone_early_init != NULL)
    __malloc_standalone_early_init ();
  thread_exit_key_created
    = pthread_key_create (&thread_exit_key, thread_exit) == 0;
  /* As early as possible: prepare handlers run in reverse order of
     registration, and malloc's locks must be taken after the others.  */
  pthread_atfork (fork_prepare, fork_parent, fork_child);
}

void
__malloc_standalone_first_entry (void)
{
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  __malloc_standalone_thread_entered = true;
  pthread_once (&once, process_init);
  /* A low key (created early) keeps this free of allocations.  */
  if (thread_exit_key_created)
    pthread_setspecific (thread_exit_key,
			 (void *) (uintptr_t) PTHREAD_DESTRUCTOR_ITERATIONS);
}

__attribute__ ((constructor)) static void
initialize_at_startup (void)
{
  malloc_standalone_enter ();
}
