/* Replaces glibc's sysdeps/nptl/bits/libc-lock.h, the name malloc includes
   its locks by up to 2.22: the same as libc-lock.h, its later name.  */
#include <libc-lock.h>
