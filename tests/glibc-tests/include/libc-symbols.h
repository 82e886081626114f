/* Stands in for glibc's include/libc-symbols.h, which its build
   force-includes into every file.  What the malloc tests and their modules
   need of it (strong_alias, weak_alias, hidden_proto, attribute_hidden) is
   in ../compat.h, force-included; this file only makes
   `#include <libc-symbols.h>` resolve.  */
