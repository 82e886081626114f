/* Replaces glibc's libc-lock.h (nptl libc-lockP.h + lowlevellock.h) for
   the locks malloc takes: an int, 0 unlocked, 1 locked, 2 locked with
   waiters, as glibc's lll_lock protocol, so struct malloc_state keeps its
   layout.  Taking a lock is also an entry into the allocator: see
   malloc-standalone-entry.h.  */
#ifndef _LIBC_LOCK_H
#define _LIBC_LOCK_H 1

#include <atomic.h>		/* As glibc's, through lowlevellock.h.  */
#include <linux/futex.h>
#include <malloc-standalone-entry.h>
#include <sysdep.h>

typedef int __libc_lock_t;

#define _LIBC_LOCK_INITIALIZER 0
#define LLL_LOCK_INITIALIZER 0		/* Up to 2.22 (MUTEX_INITIALIZER).  */
#define __libc_lock_define(CLASS, NAME) CLASS __libc_lock_t NAME;
#define __libc_lock_define_initialized(CLASS, NAME) \
  CLASS __libc_lock_t NAME = _LIBC_LOCK_INITIALIZER;
#define __libc_lock_init(NAME) ((void) ((NAME) = _LIBC_LOCK_INITIALIZER))

#define __libc_lock_lock(NAME) \
  ({ malloc_standalone_enter (); malloc_standalone_lll_lock (&(NAME)); 0; })
/* 0 on success, as lll_trylock.  */
#define __libc_lock_trylock(NAME) \
  ({ malloc_standalone_enter ();					\
     int __expected = 0;						\
     !__atomic_compare_exchange_n (&(NAME), &__expected, 1, 0,		\
				   __ATOMIC_ACQUIRE, __ATOMIC_RELAXED); })
#define __libc_lock_unlock(NAME) malloc_standalone_lll_unlock (&(NAME))

static inline void
malloc_standalone_lll_lock (int *futex)
{
  int expected = 0;
  if (__atomic_compare_exchange_n (futex, &expected, 1, 0, __ATOMIC_ACQUIRE,
				   __ATOMIC_RELAXED))
    return;
  /* __lll_lock_wait: mark the lock contended and sleep until it is free.  */
  if (expected == 2)
    INTERNAL_SYSCALL_CALL (futex, futex, FUTEX_WAIT_PRIVATE, 2, NULL);
  while (__atomic_exchange_n (futex, 2, __ATOMIC_ACQUIRE) != 0)
    INTERNAL_SYSCALL_CALL (futex, futex, FUTEX_WAIT_PRIVATE, 2, NULL);
}

static inline void
malloc_standalone_lll_unlock (int *futex)
{
  if (__atomic_exchange_n (futex, 0, __ATOMIC_RELEASE) > 1)
    INTERNAL_SYSCALL_CALL (futex, futex, FUTEX_WAKE_PRIVATE, 1);
}

#endif
