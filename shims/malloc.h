/* Replaces glibc's include/malloc.h: the version's own public malloc.h
   (not the host's, whose API differs: hooks, mallinfo2, ...) plus the
   arena type libc's wrapper declares.  */
#ifndef _MALLOC_H
#include <malloc/malloc.h>

struct malloc_state;
typedef struct malloc_state *mstate;

#endif
