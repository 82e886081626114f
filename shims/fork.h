/* Replaces glibc's sysdeps/nptl/fork.h (libc's list of fork handlers),
   which malloc includes up to 2.23 through malloc-machine.h: its
   thread_atfork fills a struct fork_handler and links it into libc's list
   with __linkin_atfork, a libc-internal function.  stubs/atfork.c gives
   the handlers to the host's pthread_atfork instead, which runs them at
   the same points of fork.  From 2.24 fork calls malloc's fork functions
   itself (stubs/lifecycle.c).  */
#ifndef _FORK_H
#define _FORK_H 1

struct fork_handler
{
  struct fork_handler *next;
  void (*prepare_handler) (void);
  void (*parent_handler) (void);
  void (*child_handler) (void);
  void *dso_handle;
  unsigned int refcntr;
  int need_signal;
};

extern void __linkin_atfork (struct fork_handler *newp) attribute_hidden;

#endif
