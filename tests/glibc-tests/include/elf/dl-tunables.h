/* Stands in for glibc's elf/dl-tunables.h, the dynamic loader's internal
   tunables interface (TUNABLE_IS_INITIALIZED, TUNABLE_GET_FULL over the
   GLIBC_PRIVATE __tunable_is_initialized and __tunable_get_val).  From
   2.44 on, the support library's support_check_malloc_hugetlb
   (support/support_check_hugetlb.c) asks it whether the test runs with
   glibc.malloc.hugetlb set, to report UNSUPPORTED when the kernel cannot
   honour it.  A test program outside glibc cannot call the loader's
   private interface, and under LD_PRELOAD the loader is not the allocator
   anyway; both only reflect GLIBC_TUNABLES, which this reads as the loader
   does: `name=value` items separated by `:`, the last one of a name wins.
   Only the forms that file uses are provided.  */
#ifndef GLIBC_TESTS_DL_TUNABLES_H
#define GLIBC_TESTS_DL_TUNABLES_H 1

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Whether GLIBC_TUNABLES sets NAME; its value in *VALUE if so.  */
static inline bool
glibc_tests_tunable (const char *name, unsigned long int *value)
{
  const char *s = getenv ("GLIBC_TUNABLES");
  size_t len = strlen (name);
  bool found = false;
  while (s != NULL && *s != '\0')
    {
      const char *end = strchr (s, ':');
      if (end == NULL)
        end = s + strlen (s);
      if ((size_t) (end - s) > len && strncmp (s, name, len) == 0
          && s[len] == '=')
        {
          found = true;
          if (value != NULL)
            *value = strtoul (s + len + 1, NULL, 0);
        }
      s = *end == ':' ? end + 1 : end;
    }
  return found;
}

static inline unsigned long int
glibc_tests_tunable_value (const char *name)
{
  unsigned long int v = 0;
  glibc_tests_tunable (name, &v);
  return v;
}

#define TUNABLE_IS_INITIALIZED(top, ns, id) \
  glibc_tests_tunable (#top "." #ns "." #id, NULL)
#define TUNABLE_GET_FULL(top, ns, id, type, cb) \
  ((type) glibc_tests_tunable_value (#top "." #ns "." #id))

#endif
