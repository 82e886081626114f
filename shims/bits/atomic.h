/* Replaces glibc's sysdeps/x86_64/bits/atomic.h, the name of the atomic
   primitives under include/atomic.h up to 2.23: the same as
   atomic-machine.h, its later name.  */
#include <atomic-machine.h>
