/* Replaces glibc's sysdeps/x86/atomic-machine.h, the primitives under
   glibc's include/atomic.h, for x86_64.  glibc's (up to 2.42) implements
   catomic_* in inline assembly that skips the lock prefix while libc's
   thread control block says the process is single-threaded; that block
   belongs to the host libc here, whose layout and upkeep are not ours to
   assume, so these are built on the compiler's atomics and always lock.
   include/atomic.h derives the rest, catomic_* included.  */
#ifndef _X86_ATOMIC_MACHINE_H
#define _X86_ATOMIC_MACHINE_H 1

#define __HAVE_64B_ATOMICS 1
#define USE_ATOMIC_COMPILER_BUILTINS 1
#define ATOMIC_EXCHANGE_USES_CAS 0

#define __arch_compare_and_exchange_val_8_acq(mem, newval, oldval) \
  __sync_val_compare_and_swap (mem, oldval, newval)
#define __arch_compare_and_exchange_val_16_acq(mem, newval, oldval) \
  __sync_val_compare_and_swap (mem, oldval, newval)
#define __arch_compare_and_exchange_val_32_acq(mem, newval, oldval) \
  __sync_val_compare_and_swap (mem, oldval, newval)
#define __arch_compare_and_exchange_val_64_acq(mem, newval, oldval) \
  __sync_val_compare_and_swap (mem, oldval, newval)

#define atomic_exchange_acq(mem, newvalue) \
  __atomic_exchange_n (mem, newvalue, __ATOMIC_ACQUIRE)
#define atomic_exchange_and_add(mem, value) __sync_fetch_and_add (mem, value)

#define atomic_full_barrier() __atomic_thread_fence (__ATOMIC_SEQ_CST)
#define atomic_read_barrier() __asm ("" ::: "memory")
#define atomic_write_barrier() __asm ("" ::: "memory")
#define atomic_spin_nop() __asm ("pause")

#endif
