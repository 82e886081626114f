/* Replaces glibc's include/time.h: the public header plus what libc's
   wrapper adds that malloc uses: the 64-bit time names (on x86_64 time_t
   is already 64-bit) and, from 2.44, verify () (glibc's include/verify.h,
   which older trees lack).  */
#include_next <time.h>

#ifndef __timespec64
# define __timespec64 timespec
# define __clock_gettime64 clock_gettime
# if __has_include (<verify.h>)
#  include <verify.h>
# endif
#endif
