/* Stands in front of the host's assert.h so that malloc gets the
   version's own internal one (glibc's include/assert.h, reached through
   the glibc tree on the include path): from 2.41 on it sends assertion
   failures inside libc to __libc_assert_fail, whose message differs from
   the public __assert_fail's.  assert.h may be included repeatedly.  */
#include <include/assert.h>

extern _Noreturn void __libc_assert_fail (const char *assertion,
					  const char *file, unsigned int line,
					  const char *function)
  attribute_hidden;
