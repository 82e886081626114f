/* Stands in for libc's __linkin_atfork (nptl/register-atfork.c), with
   which malloc up to 2.23 registers its fork handlers (thread_atfork in
   malloc-machine.h, struct fork_handler in shims/fork.h): the host's
   pthread_atfork keeps them in its own list and runs them where glibc's
   fork ran its list.  */
#include <fork.h>
#include <pthread.h>

void
__linkin_atfork (struct fork_handler *newp)
{
  pthread_atfork (newp->prepare_handler, newp->parent_handler,
		  newp->child_handler);
}
