/* Stands in for glibc's config.h, which its configure generates and its
   build force-includes (through include/libc-symbols.h) into every file.
   What the malloc tests and the support library need of it
   (TIMEOUTFACTOR) is in ../compat.h, force-included; this file only
   makes `#include <config.h>` resolve.  */
