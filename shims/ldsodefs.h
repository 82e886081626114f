/* Replaces glibc's ldsodefs.h (the dynamic linker's global state) with
   the little malloc reads: the page size (GLRO), the THP segment-loading
   state (GL, 2.44 on), and whether this libc is the one of the initial
   namespace (_dl_addr and l_ns in 2.31, __libc_initial later).  Declares
   the stubs in stubs/rtld.c.  Includes what glibc's does that its users
   rely on (setvmaname.c: atomic.h, through libc-lock.h; getsysstats.c:
   <sched.h>'s CPU_* macros, through link.h and tls.h).  */
#ifndef _LDSODEFS_H
#define _LDSODEFS_H 1

#include <dlfcn.h>
#include <libc-lock.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define GLRO(name) _##name
#define _dl_pagesize ((size_t) getpagesize ())

/* rtld sets the THP state only for GLIBC_TUNABLES=glibc.elf.thp=1 (not
   emulated: the host's ld.so loads the program); by default it stays
   thp_mode_unknown and page size 0, and malloc asks the kernel itself.  */
#define HAVE_THP 1
#define GL(name) _##name
#define _dl_thp_mode 0
#define _dl_elf_thp_pagesize 0

/* ld.so's link_map, reduced to the one member malloc reads.  */
struct link_map
{
  Lmid_t l_ns;
};
extern int _dl_addr (const void *address, Dl_info *info,
		     struct link_map **mapp, const void **symbolp)
  attribute_hidden;

struct dl_open_hook;
extern struct dl_open_hook *_dl_open_hook attribute_hidden;

/* The version's libc-internal.h declares it too, where it has it.  */
extern _Bool __libc_initial attribute_hidden;

#endif
