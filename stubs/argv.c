/* Stands in for libc's __libc_argv (set by csu/init-first.c before any
   constructor runs), with which malloc_printerr up to 2.26 names the
   program in "*** Error in `%s': ...".  Read off the startup stack
   (argc, argv[], NULL, envp[], ...) that __libc_stack_end points at, as
   stubs/tunables.c reads the environment; until this library's
   constructor has run it is an empty vector, and malloc prints
   "<unknown>".  */
#include <stddef.h>

extern void *__libc_stack_end __attribute__ ((weak));

static char *no_argv[1];
char **__libc_argv attribute_hidden = no_argv;

__attribute__ ((constructor)) static void
init_argv (void)
{
  if (&__libc_stack_end != NULL && __libc_stack_end != NULL)
    __libc_argv = (char **) ((long int *) __libc_stack_end + 1);
}
