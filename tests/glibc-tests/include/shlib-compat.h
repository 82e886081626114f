/* Stands in for glibc's include/shlib-compat.h.  What the malloc tests
   need of it (TEST_COMPAT, compat_symbol_reference) is in ../compat.h,
   force-included; this file only makes `#include <shlib-compat.h>`
   resolve.  */
