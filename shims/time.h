/* Replaces glibc's include/time.h: the public header plus the 64-bit time
   names libc uses internally; on x86_64 time_t is already 64-bit.  */
#include_next <time.h>

#ifndef __timespec64
# define __timespec64 timespec
# define __clock_gettime64 clock_gettime
#endif
