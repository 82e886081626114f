/* The heap as the allocator under test holds it, for `resolver view`:
   included by replay.c (its --view mode).  The replayer runs with one of
   our libmalloc-glibc-<version>.so preloaded; this file finds that .so
   (dladdr of malloc), reads its ELF symbol table for the allocator's
   static `main_arena` and thread-local `tcache` (dlsym sees neither:
   they are local symbols), and walks them with the structure layout of
   the version in the .so's name (x86_64; checked against glibc's
   malloc.c of 2.23 to 2.44):
     struct malloc_state: mutex, flags, have_fastchunks (2.27 to 2.42),
       fastbinsY[10] (up to 2.42), top, last_remainder, bins[254],
       binmap[4], next, next_free, attached_threads, system_mem, ...
     tcache_perthread_struct (2.26 on): counts[64] of char (to 2.29),
       uint16_t from 2.30 (num_slots from 2.42), 76 bins from 2.42, then
       entries[]; safe-linked next pointers from 2.32 (also fastbins).
   Every chunk of the main heap is visited from its start
   (sbrk_base = top + size of top - system_mem, which glibc asserts for a
   contiguous main arena) to the top chunk; a free chunk's bin is the list
   of the allocator's it was found on.  Mmapped chunks are the live
   allocations whose size field has IS_MMAPPED.  The replay is
   single-threaded, so there is one arena; the arena count is still
   reported from main_arena.next.

   Output, on stdout with write(2) (stdio would allocate):
     s STEP RET OLD BASE      after every call (hex addresses, 0 for none)
     h STEP BASE TOP ARENAS : SIZE|KIND ... ; ADDR SIZE ... ; ERR
       KIND: 0 in use, 1 tcache, 2 fastbin, 3 unsorted, 4 small bin,
       5 large bin, 6 free but on no list, 7 the top chunk; chunks follow
       each other from BASE, so only sizes are given; after ";" the
       mmapped chunks; ERR is 0, or 1 if a walk met a bad size or pointer.
     e STEPS                  at the end.  */

#define VIEW_MAX_LIST 1000000

static int view_major, view_minor;
static uintptr_t view_arena, view_tls_tcache;
static int view_has_tcache;

/* Own output buffer, flushed with write(2).  */
static char *view_buf;
static size_t view_len, view_cap = 1 << 20;

static void
view_flush (void)
{
  size_t off = 0;
  while (off < view_len)
    {
      ssize_t n = write (1, view_buf + off, view_len - off);
      if (n <= 0)
	{
	  if (n < 0 && errno == EINTR)
	    continue;
	  exit (3);
	}
      off += n;
    }
  view_len = 0;
}

static void
view_put (const char *s, size_t n)
{
  if (view_len + n > view_cap)
    view_flush ();
  memcpy (view_buf + view_len, s, n);
  view_len += n;
}

static void
view_num (uint64_t x, int hex)
{
  char tmp[24];
  int i = sizeof tmp;
  do
    {
      tmp[--i] = hex ? "0123456789abcdef"[x & 15] : '0' + x % 10;
      x = hex ? x >> 4 : x / 10;
    }
  while (x != 0);
  view_put (tmp + i, sizeof tmp - i);
}

#define VIEW_LIT(s) view_put (s, sizeof s - 1)

/* Addresses stay the same from run to run (and so across versions):
   re-executes itself once without address-space randomization.  */
static void
view_no_aslr (char **argv)
{
  int p = personality (0xffffffff);
  if (p == -1 || (p & ADDR_NO_RANDOMIZE) || getenv ("REPLAY_VIEW_ASLR"))
    return;
  if (personality (p | ADDR_NO_RANDOMIZE) == -1)
    return;
  setenv ("REPLAY_VIEW_ASLR", "1", 1);
  execv ("/proc/self/exe", argv);
  /* Could not: randomized it stays.  */
}

static void __attribute__ ((noreturn))
view_die (const char *what)
{
  fprintf (stderr, "replay --view: %s\n", what);
  exit (1);
}

/* The value of local symbol NAME in the ELF file PATH, or 0.  */
static uint64_t
view_symbol (const char *path, const char *name, int *type)
{
  int fd = open (path, O_RDONLY);
  struct stat st;
  if (fd < 0 || fstat (fd, &st) != 0)
    return 0;
  const unsigned char *f = mmap (NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  close (fd);
  if (f == MAP_FAILED)
    return 0;
  uint64_t value = 0;
  const Elf64_Ehdr *eh = (const Elf64_Ehdr *) f;
  if ((size_t) st.st_size < sizeof *eh || memcmp (eh->e_ident, ELFMAG, SELFMAG) != 0
      || eh->e_ident[EI_CLASS] != ELFCLASS64
      || eh->e_shoff + (uint64_t) eh->e_shnum * sizeof (Elf64_Shdr) > (uint64_t) st.st_size)
    goto out;
  const Elf64_Shdr *sh = (const Elf64_Shdr *) (f + eh->e_shoff);
  for (int i = 0; i < eh->e_shnum; i++)
    {
      if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_link >= eh->e_shnum)
	continue;
      const Elf64_Shdr *strs = &sh[sh[i].sh_link];
      if (sh[i].sh_offset + sh[i].sh_size > (uint64_t) st.st_size
	  || strs->sh_offset + strs->sh_size > (uint64_t) st.st_size)
	goto out;
      const Elf64_Sym *sym = (const Elf64_Sym *) (f + sh[i].sh_offset);
      size_t n = sh[i].sh_size / sizeof *sym;
      const char *str = (const char *) f + strs->sh_offset;
      for (size_t j = 0; j < n; j++)
	if (sym[j].st_name < strs->sh_size
	    && strcmp (str + sym[j].st_name, name) == 0
	    && sym[j].st_shndx != SHN_UNDEF)
	  {
	    value = sym[j].st_value;
	    *type = ELF64_ST_TYPE (sym[j].st_info);
	    goto out;
	  }
    }
out:
  munmap ((void *) f, st.st_size);
  return value;
}

static void
view_init (void)
{
  view_buf = map (view_cap);
  Dl_info info;
  void *m = dlsym (RTLD_DEFAULT, "malloc");
  if (m == NULL || dladdr (m, &info) == 0 || info.dli_fname == NULL)
    view_die ("cannot tell which shared object malloc is in");
  const char *name = strstr (info.dli_fname, "libmalloc-glibc-");
  if (name == NULL
      || sscanf (name, "libmalloc-glibc-%d.%d", &view_major, &view_minor) != 2)
    {
      char msg[512];
      snprintf (msg, sizeof msg, "malloc is %s's, not a libmalloc-glibc-<version>.so's "
		"(preload one of ours)", info.dli_fname);
      view_die (msg);
    }
  int type = 0;
  uint64_t a = view_symbol (info.dli_fname, "main_arena", &type);
  if (a == 0)
    {
      char msg[512];
      snprintf (msg, sizeof msg, "%s has no symbol main_arena (a stripped build?)",
		info.dli_fname);
      view_die (msg);
    }
  view_arena = (uintptr_t) info.dli_fbase + a;
  int v = view_major * 100 + view_minor;
  if (v >= 226)
    {
      uint64_t t = view_symbol (info.dli_fname, "tcache", &type);
      if (t != 0 || type == STT_TLS)
	{
	  void *h = dlopen (info.dli_fname, RTLD_NOLOAD | RTLD_LAZY);
	  void *block = NULL;
	  if (h != NULL && dlinfo (h, RTLD_DI_TLS_DATA, &block) == 0 && block != NULL)
	    {
	      view_tls_tcache = (uintptr_t) block + t;
	      view_has_tcache = 1;
	    }
	}
    }
}

/* Layout of this version's struct malloc_state (x86_64).  */
static size_t
view_fastbins_off (void)
{
  int v = view_major * 100 + view_minor;
  if (v >= 243)
    return 0;			/* none */
  return v >= 227 ? 16 : 8;
}

static size_t
view_top_off (void)
{
  size_t fb = view_fastbins_off ();
  return fb == 0 ? 8 : fb + 10 * 8;
}

#define VIEW_W(a) (*(volatile uintptr_t *) (a))

static uintptr_t
view_top (void)
{
  return VIEW_W (view_arena + view_top_off ());
}

static uintptr_t
view_bins (void)
{
  return view_arena + view_top_off () + 16;
}

/* next: after bins[254] and binmap[4].  */
static uintptr_t
view_next (void)
{
  return VIEW_W (view_bins () + 254 * 8 + 16);
}

static uintptr_t
view_system_mem (void)
{
  return VIEW_W (view_bins () + 254 * 8 + 16 + 3 * 8);
}

static uintptr_t
view_chunksize (uintptr_t c)
{
  return VIEW_W (c + 8) & ~(uintptr_t) 7;
}

/* The main heap's first chunk, or 0 before the first sbrk.  */
static uintptr_t
view_base (void)
{
  uintptr_t top = view_top (), sys = view_system_mem ();
  if (sys == 0 || top == 0)
    return 0;
  uintptr_t base = top + view_chunksize (top) - sys;
  return (base + 15) & ~(uintptr_t) 15;
}

static uintptr_t
view_reveal (uintptr_t field, uintptr_t stored)
{
  if (view_major * 100 + view_minor >= 232)
    return stored ^ (field >> 12);
  return stored;
}

/* Live mmapped chunks (user pointers), kept in the replayer's memory.  */
static uintptr_t *view_mm;
static size_t view_mm_n, view_mm_cap;

static void
view_returned (void *p)
{
  uintptr_t c = (uintptr_t) p - 16;
  if ((VIEW_W (c + 8) & 2) == 0)
    return;
  if (view_mm_n == view_mm_cap)
    {
      size_t cap = view_mm_cap ? 2 * view_mm_cap : 1024;
      uintptr_t *n = map (cap * sizeof *n);
      if (view_mm_n)
	memcpy (n, view_mm, view_mm_n * sizeof *n);
      if (view_mm)
	munmap (view_mm, view_mm_cap * sizeof *n);
      view_mm = n;
      view_mm_cap = cap;
    }
  view_mm[view_mm_n++] = (uintptr_t) p;
}

static void
view_forget (void *p)
{
  for (size_t i = 0; i < view_mm_n; i++)
    if (view_mm[i] == (uintptr_t) p)
      {
	view_mm[i] = view_mm[--view_mm_n];
	return;
      }
}

/* Blocks the trace freed: trace pointer -> the live pointer it was, so
   that a second free of it (a program's double free, recorded under a
   version that let it pass) is replayed as one, and a version whose
   checks catch it aborts here as it would have there.  Forgotten when the
   trace's allocator gives the address out again.  */
static uint64_t *view_dead_key;
static void **view_dead_live;
static size_t view_dead_mask, view_dead_used;

static size_t
view_dead_find (uint64_t key)
{
  size_t i = (key >> 4) * 0x9e3779b97f4a7c15ULL & view_dead_mask;
  while (view_dead_key[i] != 0 && view_dead_key[i] != key)
    i = (i + 1) & view_dead_mask;
  return i;
}

static void
view_dead_put (uint64_t key, void *live)
{
  if (view_dead_key == NULL || 2 * (view_dead_used + 1) > view_dead_mask + 1)
    {
      size_t old_n = view_dead_key ? view_dead_mask + 1 : 0, n = old_n ? 2 * old_n : 1024;
      uint64_t *ok = view_dead_key;
      void **ol = view_dead_live;
      view_dead_key = map (n * sizeof *view_dead_key);
      view_dead_live = map (n * sizeof *view_dead_live);
      view_dead_mask = n - 1;
      for (size_t i = 0; i < old_n; i++)
	if (ok[i] != 0)
	  {
	    size_t j = view_dead_find (ok[i]);
	    view_dead_key[j] = ok[i];
	    view_dead_live[j] = ol[i];
	  }
      if (ok)
	{
	  munmap (ok, old_n * sizeof *ok);
	  munmap (ol, old_n * sizeof *ol);
	}
    }
  size_t i = view_dead_find (key);
  if (view_dead_key[i] == 0)
    view_dead_used++;
  view_dead_key[i] = key;
  view_dead_live[i] = live;
}

/* The live pointer a freed trace pointer was, or NULL.  */
static void *
view_dead_get (uint64_t key)
{
  if (view_dead_key == NULL)
    return NULL;
  size_t i = view_dead_find (key);
  return view_dead_key[i] == key ? view_dead_live[i] : NULL;
}

/* The trace's allocator gave KEY out again: it is live, not dead.  Marked
   with a NULL live pointer (no deletion, so probes stay correct).  */
static void
view_dead_forget (uint64_t key)
{
  if (view_dead_key == NULL)
    return;
  size_t i = view_dead_find (key);
  if (view_dead_key[i] == key)
    view_dead_live[i] = NULL;
}

static void
view_step (size_t step, void *ret, void *old)
{
  VIEW_LIT ("s ");
  view_num (step, 0);
  VIEW_LIT (" ");
  view_num ((uintptr_t) ret, 1);
  VIEW_LIT (" ");
  view_num ((uintptr_t) old, 1);
  VIEW_LIT (" ");
  view_num (view_base (), 1);
  VIEW_LIT ("\n");
  /* An abort in the next call must not lose this line.  */
  view_flush ();
}

/* Free chunks found on the lists: chunk address -> kind.  */
static uintptr_t *view_set_key;
static unsigned char *view_set_kind;
static size_t view_set_mask;

static void
view_set_add (uintptr_t c, int kind)
{
  size_t i = (c >> 4) * 0x9e3779b97f4a7c15ULL & view_set_mask;
  while (view_set_key[i] != 0 && view_set_key[i] != c)
    i = (i + 1) & view_set_mask;
  if (view_set_key[i] == 0)
    {
      view_set_key[i] = c;
      view_set_kind[i] = kind;
    }
}

static int
view_set_get (uintptr_t c)
{
  size_t i = (c >> 4) * 0x9e3779b97f4a7c15ULL & view_set_mask;
  while (view_set_key[i] != 0)
    {
      if (view_set_key[i] == c)
	return view_set_kind[i];
      i = (i + 1) & view_set_mask;
    }
  return -1;
}

static int
view_in_heap (uintptr_t c, uintptr_t base, uintptr_t top)
{
  return c >= base && c < top && (c & 15) == 0;
}

static void
view_heap (size_t step)
{
  uintptr_t base = view_base (), top = view_top ();
  /* The set holds up to a quarter of the heap's minimum-size chunks.  */
  size_t want = 1024;
  size_t chunks = base ? (top - base) / 32 + 1 : 0;
  while (want < 2 * chunks && want < (size_t) 2 * VIEW_MAX_LIST)
    want *= 2;
  if (view_set_mask + 1 != want)
    {
      if (view_set_key)
	{
	  munmap (view_set_key, (view_set_mask + 1) * sizeof *view_set_key);
	  munmap (view_set_kind, view_set_mask + 1);
	}
      view_set_key = map (want * sizeof *view_set_key);
      view_set_kind = map (want);
      view_set_mask = want - 1;
    }
  else
    memset (view_set_key, 0, want * sizeof *view_set_key);
  int err = 0;
  size_t listed = 0;
  if (base != 0)
    {
      int v = view_major * 100 + view_minor;
      /* tcache: entries are user pointers.  */
      uintptr_t t = view_has_tcache ? VIEW_W (view_tls_tcache) : 0;
      if (t != 0)
	{
	  size_t nbins = v >= 242 ? 76 : 64;
	  size_t entries = t + (v >= 230 ? (v >= 242 ? 152 : 128) : 64);
	  for (size_t i = 0; i < nbins; i++)
	    {
	      uintptr_t e = VIEW_W (entries + 8 * i);
	      while (e != 0 && listed++ < VIEW_MAX_LIST)
		{
		  if (!view_in_heap (e - 16, base, top))
		    {
		      err = 1;
		      break;
		    }
		  view_set_add (e - 16, 1);
		  e = view_reveal (e, VIEW_W (e));
		}
	    }
	}
      size_t fb = view_fastbins_off ();
      if (fb != 0)
	for (size_t i = 0; i < 10; i++)
	  {
	    uintptr_t c = VIEW_W (view_arena + fb + 8 * i);
	    while (c != 0 && listed++ < VIEW_MAX_LIST)
	      {
		if (!view_in_heap (c, base, top))
		  {
		    err = 1;
		    break;
		  }
		view_set_add (c, 2);
		c = view_reveal (c + 16, VIEW_W (c + 16));
	      }
	  }
      /* bins[]: bin i's header is a fake chunk 16 bytes before its fd.  */
      for (size_t i = 1; i < 127; i++)
	{
	  uintptr_t head = view_bins () + (i - 1) * 16 - 16;
	  int kind = i == 1 ? 3 : i < 64 ? 4 : 5;
	  uintptr_t c = VIEW_W (head + 16);
	  while (c != head && c != 0 && listed++ < VIEW_MAX_LIST)
	    {
	      if (!view_in_heap (c, base, top))
		{
		  err = 1;
		  break;
		}
	      view_set_add (c, kind);
	      c = VIEW_W (c + 16);
	    }
	}
    }
  VIEW_LIT ("h ");
  view_num (step, 0);
  VIEW_LIT (" ");
  view_num (base, 1);
  VIEW_LIT (" ");
  view_num (top, 1);
  VIEW_LIT (" ");
  size_t arenas = 1;
  size_t next_off = view_top_off () + 16 + 254 * 8 + 16;
  for (uintptr_t a = view_next (); a != view_arena && a != 0 && arenas < 1024;
       a = VIEW_W (a + next_off))
    arenas++;
  view_num (arenas, 0);
  VIEW_LIT (" :");
  if (base != 0)
    for (uintptr_t c = base; c <= top;)
      {
	uintptr_t size = view_chunksize (c);
	int kind;
	if (c == top)
	  kind = 7;
	else if ((kind = view_set_get (c)) < 0)
	  {
	    if (size < 32 || c + size > top)
	      {
		err = 1;
		break;
	      }
	    kind = (VIEW_W (c + size + 8) & 1) ? 0 : 6;
	  }
	if (size < 16 || (c != top && c + size > top))
	  {
	    err = 1;
	    break;
	  }
	VIEW_LIT (" ");
	view_num (size | kind, 0);
	if (c == top)
	  break;
	c += size;
      }
  VIEW_LIT (" ;");
  for (size_t i = 0; i < view_mm_n; i++)
    {
      VIEW_LIT (" ");
      view_num (view_mm[i] - 16, 1);
      VIEW_LIT (" ");
      view_num (view_chunksize (view_mm[i] - 16), 0);
    }
  view_put (err ? " ; 1\n" : " ; 0\n", 5);
  view_flush ();
}

static void
view_end (size_t steps)
{
  VIEW_LIT ("e ");
  view_num (steps, 0);
  VIEW_LIT ("\n");
  view_flush ();
}
