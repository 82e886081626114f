/* Replaces glibc's include/errno.h: the public header plus __set_errno.  */
#include_next <errno.h>

#ifndef __set_errno
# define __set_errno(val) (errno = (val))
#endif
