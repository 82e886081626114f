/* Replaces glibc's include/time.h: the public header plus what libc's
   wrapper adds that malloc uses: the 64-bit time names (on x86_64 time_t
   is already 64-bit) and, from 2.44, verify ().  */
#include_next <time.h>

#ifndef __timespec64
# define __timespec64 timespec
# define __clock_gettime64 clock_gettime
# include <verify.h>
#endif
