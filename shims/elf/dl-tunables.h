/* Replaces glibc's elf/dl-tunables.h.  In glibc, ld.so parses the tunables
   at startup into a table generated from elf/dl-tunables.list; here the
   build generates malloc-standalone-tunables.h from the same list (an
   X-macro line per glibc.malloc and glibc.mem tunable) and
   stubs/tunables.c parses the environment when malloc first asks.
   The macros keep glibc's shapes: TUNABLE_GET (id, type, callback) inside
   a TUNABLE_NAMESPACE, the five-argument form outside one.  */
#ifndef _TUNABLES_H_
#define _TUNABLES_H_ 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef intmax_t tunable_num_t;

typedef union
{
  tunable_num_t numval;
  struct tunable_str_t
  {
    const char *str;
    size_t len;
  } strval;
} tunable_val_t;

typedef void (*tunable_callback_t) (tunable_val_t *);

#define TUNABLE_ENUM_NAME(__top, __ns, __id) TUNABLE_ENUM_NAME1 (__top, __ns, __id)
#define TUNABLE_ENUM_NAME1(__top, __ns, __id) __top ## _ ## __ns ## _ ## __id

typedef enum
{
#define MALLOC_STANDALONE_TUNABLE(top, ns, id, type, min, max, def, alias, sec) \
  TUNABLE_ENUM_NAME (top, ns, id),
#include <malloc-standalone-tunables.h>
#undef MALLOC_STANDALONE_TUNABLE
  /* Not a tunable: keeps the enumeration non-empty for versions without
     any (no elf/dl-tunables.list before 2.25).  */
  malloc_standalone_tunables_end
} tunable_id_t;

extern void __tunable_get_val (tunable_id_t id, void *valp,
			       tunable_callback_t callback) attribute_hidden;
extern bool __tunable_is_initialized (tunable_id_t id) attribute_hidden;

#if defined TOP_NAMESPACE && defined TUNABLE_NAMESPACE
# define TUNABLE_GET(__id, __type, __cb) \
  TUNABLE_GET_FULL (TOP_NAMESPACE, TUNABLE_NAMESPACE, __id, __type, __cb)
# define TUNABLE_IS_INITIALIZED(__id) \
  TUNABLE_IS_INITIALIZED_FULL (TOP_NAMESPACE, TUNABLE_NAMESPACE, __id)
#else
# define TUNABLE_GET(__top, __ns, __id, __type, __cb) \
  TUNABLE_GET_FULL (__top, __ns, __id, __type, __cb)
# define TUNABLE_IS_INITIALIZED(__top, __ns, __id) \
  TUNABLE_IS_INITIALIZED_FULL (__top, __ns, __id)
#endif

/* The value, after calling __CB with it if the environment set it.  */
#define TUNABLE_GET_FULL(__top, __ns, __id, __type, __cb)		\
  ({									\
    __type __ret;							\
    __tunable_get_val (TUNABLE_ENUM_NAME (__top, __ns, __id), &__ret, __cb); \
    __ret;								\
  })

#define TUNABLE_IS_INITIALIZED_FULL(__top, __ns, __id) \
  __tunable_is_initialized (TUNABLE_ENUM_NAME (__top, __ns, __id))

#define TUNABLE_CALLBACK(__name) _dl_tunable_ ## __name

#endif
