/* Replaces what glibc's build system gives its own test programs and its
   support library (support/) when they are built inside a glibc build:
   - the generated config.h (TIMEOUTFACTOR) and include/libc-symbols.h,
     which glibc's Makeconfig force-includes into every file (hidden_proto,
     libc_hidden_proto, strong_alias, weak_alias, attribute_hidden);
   - include/errno.h's __set_errno;
   - include/sys/cdefs.h's __attribute_optimization_barrier__ (2.39 on);
   - include/shlib-compat.h's TEST_COMPAT and compat_symbol_reference,
     which bind a test to an old symbol version of libc (x86_64's oldest
     version node is GLIBC_2.2.5, which abi-versions.h maps GLIBC_2_0 to);
   - the <limits.h>, <stddef.h> and <stdint.h> that glibc's internal header
     wrappers pull in everywhere (support files use INT_MAX, NAME_MAX, NULL,
     intmax_t and PTRDIFF_MAX without including them), and the <sys/stat.h>
     that include/stdlib.h brought in up to 2.30 (whose
     support_test_main.c uses struct stat64 without including it);
   - the declarations of allocator API that a host C library older than
     the version lacks (free_sized and free_aligned_sized, 2.43 on);
   - for the test-skeleton.c that tests include up to 2.24, a
     TEST_DATA_LIMIT of RLIM_INFINITY, the skeleton's own way of keeping
     the RLIMIT_DATA it was given: 2.23's lowers it to 64 MiB, which since
     Linux 4.7 counts every private writable mapping, thread stacks
     included, so tst-malloc-thread-exit cannot start its threads under
     any allocator (2.24's skeleton no longer sets the limit).
   Force-included (-include) by `cargo xtask conformance --suite
   glibc-tests` (xtask/src/conformance/glibc_tests.rs) into every support
   file, test and test module it builds, with the host's (or, for versions
   older than the host, the reference glibc's own) public headers and _LIBC
   undefined.  The files in include/ next to this one stand in for the
   internal headers whose content this provides, so that their #include
   lines resolve.  */
#ifndef GLIBC_TESTS_COMPAT_H
#define GLIBC_TESTS_COMPAT_H 1

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

/* config.h */
#define TIMEOUTFACTOR 1

/* include/libc-symbols.h */
#define attribute_hidden __attribute__ ((visibility ("hidden")))
#define hidden_proto(name, ...)
#define libc_hidden_proto(name, ...)
#define libc_hidden_def(name)
#define libc_hidden_weak(name)
#define libc_hidden_data_def(name)
#define strong_alias(name, aliasname) \
  extern __typeof (name) aliasname __attribute__ ((alias (#name)));
#define weak_alias(name, aliasname) \
  extern __typeof (name) aliasname __attribute__ ((weak, alias (#name)));

/* include/sys/cdefs.h */
#ifndef __attribute_optimization_barrier__
# define __attribute_optimization_barrier__ __attribute__ ((noinline, noclone))
#endif

/* include/errno.h */
#define __set_errno(val) (errno = (val))

/* include/shlib-compat.h, for libc on x86_64 (abi-versions.h): every
   version before GLIBC_2.2.5 is GLIBC_2.2.5 there, and the symbols the
   tests bind to old versions still exist in every glibc they test.  */
#define TEST_COMPAT(lib, introduced, obsoleted) 1
#define SHLIB_COMPAT(lib, introduced, obsoleted) 1
#define GLIBC_TESTS_VERSION_GLIBC_2_0 "GLIBC_2.2.5"
#define GLIBC_TESTS_VERSION_GLIBC_2_2_5 "GLIBC_2.2.5"
#define compat_symbol_reference(lib, local, symbol, version) \
  __asm__ (".symver " #local "," #symbol "@" GLIBC_TESTS_VERSION_##version)

/* test-skeleton.c, up to 2.24 (RLIM_INFINITY: <sys/resource.h>, which the
   skeleton includes).  */
#define TEST_DATA_LIMIT RLIM_INFINITY

/* stdlib.h of 2.43 on (C23's sized deallocation).  */
#if !__GLIBC_PREREQ (2, 43)
extern void free_sized (void *, size_t);
extern void free_aligned_sized (void *, size_t, size_t);
#endif

#endif
