/* Replaces glibc's include/sys/sysinfo.h: the host's public header plus
   the internal name malloc calls where the version has it: upstream
   2.35 to 2.37 size the arena limit by __get_nprocs_sched (the CPUs the
   process may run on), which the version's own getsysstats.c defines.  */
#include_next <sys/sysinfo.h>

#ifndef MALLOC_STANDALONE_SYS_SYSINFO_H
# define MALLOC_STANDALONE_SYS_SYSINFO_H
extern int __get_nprocs_sched (void) attribute_hidden;
#endif
