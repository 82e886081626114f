/* Stands in for the dynamic-linker state libc's malloc consults to find
   out whether this libc is the one of the initial link-map namespace (if
   not, it must not use brk): _dl_open_hook and _dl_addr in older
   versions' ptmalloc_init (2.31), __libc_initial in newer ones.  Declared
   in shims/ldsodefs.h.  Loaded by LD_PRELOAD or as a DT_NEEDED library,
   this copy is in the initial namespace; _dl_addr still asks the host's
   ld.so.  */
#include <dlfcn.h>
#include <ldsodefs.h>

/* Non-null only in a libc dlopened from a static program.  */
struct dl_open_hook *_dl_open_hook;

_Bool __libc_initial = 1;

int
_dl_addr (const void *address, Dl_info *info, struct link_map **mapp,
	  const void **symbolp)
{
  static struct link_map map;
  void *handle;
  if (dladdr1 (address, info, &handle, RTLD_DL_LINKMAP) == 0
      || dlinfo (handle, RTLD_DI_LMID, &map.l_ns) != 0)
    return 0;
  *mapp = &map;
  if (symbolp != NULL)
    *symbolp = NULL;
  return 1;
}
