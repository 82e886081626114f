/* Replaces glibc's config.h and include/libc-symbols.h, which glibc's build
   force-includes into every file of libc.  Force-included (-include) into
   every translation unit here, glibc's and ours.  It records what glibc's
   configure and Makefiles decide for libc.so on x86_64-linux-gnu and
   defines the symbol macros the allocator uses (what configure decides
   differently between versions, HAVE_TUNABLES, comes from the manifest's
   defines, read off the version's configure.ac); _LIBC stays undefined so
   that the host's public headers behave as they do for any program.  */
#ifndef MALLOC_STANDALONE_PRELUDE_H
#define MALLOC_STANDALONE_PRELUDE_H

#define _GNU_SOURCE 1
#define HAVE_64B_ATOMICS 1
#define TOP_NAMESPACE glibc		/* Makeconfig.  */
#ifndef USE_TCACHE
# define USE_TCACHE 1			/* malloc/Makefile.  */
#endif

/* We are libc.so: IS_IN (libc) holds, every other module test fails.  */
#define SHARED 1
#define MODULE_libc 1
#define IS_IN(lib) (MODULE_##lib == MODULE_libc)

/* glibc builds libc with default visibility: its internal symbols carry
   attribute_hidden and the version script cuts the export list.  Its
   sources rely on that: free_sized, aligned_alloc and the __libc_* entry
   points are plain definitions, and include/malloc.h (up to 2.29)
   redeclares a function of the public malloc.h hidden, which only works
   when the first declaration has no explicit visibility.  So the build
   keeps the compiler's default visibility, as glibc's does; everything
   our stubs define for the allocator alone is declared attribute_hidden
   in shims/.  */

#define attribute_hidden __attribute__ ((visibility ("hidden")))
#define attribute_relro __attribute__ ((section (".data.rel.ro")))
#define attribute_tls_model_ie __attribute__ ((tls_model ("initial-exec")))
#define attribute_compat_text_section
#define weak_function __attribute__ ((weak))
#define RETURN_ADDRESS(nr) __builtin_return_address (nr)
#define internal_function		/* Up to 2.26; empty on x86_64.  */

/* Symbol sets (glibc's libc-symbols.h, as for a PIC libc.so): up to 2.27
   malloc hooks its thread-exit work into the set __libc_thread_subfreeres,
   which stubs/lifecycle.c runs as libc's __libc_thread_freeres did.  */
#define _elf_set_element(set, symbol) \
  static const void *__elf_set_##set##_element_##symbol##__ \
    __attribute__ ((used, section (#set))) = &(symbol)
#define text_set_element(set, symbol) _elf_set_element (set, symbol)
#define data_set_element(set, symbol) _elf_set_element (set, symbol)
#define bss_set_element(set, symbol) _elf_set_element (set, symbol)
#define __symbol_set_attribute attribute_hidden
#define symbol_set_declare(set) \
  extern char const __start_##set[] __symbol_set_attribute; \
  extern char const __stop_##set[] __symbol_set_attribute;
#define symbol_set_define(set) symbol_set_declare (set)
#define symbol_set_first_element(set) ((void *const *) (&__start_##set))
#define symbol_set_end_p(set, ptr) ((ptr) >= (void *const *) &__stop_##set)

#define strong_alias(name, aliasname) \
  extern __typeof (name) aliasname __attribute__ ((alias (#name)));
#define weak_alias(name, aliasname) \
  extern __typeof (name) aliasname __attribute__ ((weak, alias (#name)));

/* libc's internal __GI_ aliases exist to bypass the PLT inside libc.so;
   outside it they would only rename symbols our stubs define.  */
#define hidden_proto(name, ...)
#define libc_hidden_proto(name, ...)
#define rtld_hidden_proto(name, ...)
#define libc_hidden_def(name)
#define libc_hidden_weak(name)
#define libc_hidden_data_def(name)
#define rtld_hidden_def(name)

#endif
