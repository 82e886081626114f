/* Stands in for libc's early initialisation of malloc where the version
   has one: from 2.42, malloc.c defines __ptmalloc_init and
   __libc_early_init (elf/libc_early_init.c) calls it before any
   constructor; stubs/lifecycle.c calls __malloc_standalone_early_init at
   the first entry instead.  It also records that it ran in
   __malloc_initialized, the flag arena.c kept up to 2.41 and heap
   debuggers still read (pwndbg asks for it before any heap command and
   would otherwise read the host libc's).  The resolver compiles this file
   only for versions that define __ptmalloc_init, through which it hooks
   into the allocator.  */

extern void __ptmalloc_init (void) attribute_hidden;
extern void __malloc_standalone_early_init (void) attribute_hidden;

int __malloc_initialized;

void
__malloc_standalone_early_init (void)
{
  __ptmalloc_init ();
  __malloc_initialized = 1;
}
