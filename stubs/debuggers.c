/* Stands in for what heap debuggers read from libc to learn which glibc
   they look at: __libc_version, which libc defines in csu/version.c from
   the version's own version.h, as here.  pwndbg reads it to choose the
   layout of the allocator's lists (tcache and fastbin pointers are
   mangled from 2.32 on); without it, it would take the version from the
   host's libc.so.6, which is not the allocator's.  The resolver puts this
   unit into every build.  Like every definition of ours it is local to
   the .so (the version script exports only the allocator's API):
   debuggers find it through the symbol table and the debug info.  */
#include <version.h>

const char __libc_version[] = VERSION;
