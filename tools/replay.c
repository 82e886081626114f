/* Replays a jsonl allocation trace (docs/experimenting.md, "Tracing")
   against whichever allocator the process runs on (LD_PRELOAD one of
   ours), and prints one JSON line of measurements:
     ops          calls replayed (and `unmatched`: frees and reallocs of
                  pointers the trace never returned, e.g. from before
                  tracing started, replayed as nothing and as malloc)
     time_ns      wall time of the replay loop (CLOCK_MONOTONIC), less the
                  time of the mallinfo2 samples
     peak_rss_kb  growth of the resident set over the loop: VmHWM at the
                  end minus VmRSS at the start, with the high-water mark
                  reset first (/proc/self/clear_refs), less the resident
                  pages of the replayer's pointer map
     peak_live    the most bytes the trace had live (requested sizes)
     peak_heap    the most memory the allocator held (mallinfo2: arena +
                  hblkhd), sampled every 1024 calls and at the end, with
                  live_at_peak_heap, the live bytes at that sample
     end_heap, end_live  the same after the last call
   The replay is single-threaded and in the trace's `seq` order, whatever
   threads made the calls.  Everything the replayer keeps is in memory it
   maps itself, never in the allocator under test, so that only the
   trace's calls reach it.
     replay TRACE.jsonl

   With --view EVERY (resolver view), the replayer also reports the heap as
   the allocator holds it (see view.c, included below): after every call
   a line "s STEP RET OLD BASE" (what the call returned, the live address
   it freed or moved, the main heap's start then), and after every EVERY-th
   call and the last a line "h ..." with every chunk of the main arena
   and each mmapped chunk, read from the allocator's own structures.
   Instead of the measurements it then prints "e STEPS" at the end.
     replay --view EVERY TRACE.jsonl  */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <sys/personality.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum op
{
  OP_NONE, OP_MALLOC, OP_CALLOC, OP_REALLOC, OP_REALLOCARRAY, OP_FREE,
  OP_FREE_SIZED, OP_FREE_ALIGNED_SIZED, OP_MEMALIGN, OP_ALIGNED_ALLOC,
  OP_POSIX_MEMALIGN, OP_VALLOC, OP_PVALLOC,
};

static const char *const names[] = {
  [OP_MALLOC] = "malloc", [OP_CALLOC] = "calloc", [OP_REALLOC] = "realloc",
  [OP_REALLOCARRAY] = "reallocarray", [OP_FREE] = "free",
  [OP_FREE_SIZED] = "free_sized",
  [OP_FREE_ALIGNED_SIZED] = "free_aligned_sized",
  [OP_MEMALIGN] = "memalign", [OP_ALIGNED_ALLOC] = "aligned_alloc",
  [OP_POSIX_MEMALIGN] = "posix_memalign", [OP_VALLOC] = "valloc",
  [OP_PVALLOC] = "pvalloc",
};

struct rec
{
  enum op op;
  uint64_t size, nmemb, alignment, ptr, ret;
};

static const char *trace_name;

static void __attribute__ ((noreturn))
die (long line, const char *what)
{
  if (line > 0)
    fprintf (stderr, "replay: %s:%ld: %s\n", trace_name, line, what);
  else
    fprintf (stderr, "replay: %s: %s\n", trace_name, what);
  exit (1);
}

static void *
map (size_t bytes)
{
  void *p = mmap (NULL, bytes, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED)
    die (0, "out of memory for the replay's own tables");
  return p;
}

/* The value of "key": in the object [s, end), or NULL.  */
static const char *
field (const char *s, const char *end, const char *key)
{
  size_t n = strlen (key);
  for (const char *p = s; p + n + 3 < end; p++)
    if (p[0] == '"' && memcmp (p + 1, key, n) == 0 && p[n + 1] == '"'
	&& p[n + 2] == ':')
      return p + n + 3;
  return NULL;
}

static uint64_t
number (const char *v, long line, const char *key)
{
  if (v == NULL)
    {
      char msg[96];
      snprintf (msg, sizeof msg, "no \"%s\"", key);
      die (line, msg);
    }
  char *e;
  errno = 0;
  uint64_t x = strtoull (v, &e, 10);
  if (e == v || errno != 0)
    {
      char msg[96];
      snprintf (msg, sizeof msg, "\"%s\" is not a number", key);
      die (line, msg);
    }
  return x;
}

static uint64_t
pointer (const char *v, long line, const char *key)
{
  if (v == NULL || v[0] != '"' || v[1] != '0' || v[2] != 'x')
    {
      char msg[96];
      snprintf (msg, sizeof msg, "\"%s\" must be a \"0x...\" string", key);
      die (line, msg);
    }
  return strtoull (v + 3, NULL, 16);
}

/* Pointer map: trace pointer -> live pointer and requested size.  */
struct slot
{
  uint64_t key;
  void *live;
  size_t size;
};
static struct slot *table;
static size_t table_mask, table_used;

static struct slot *
find (uint64_t key)
{
  size_t i = (key >> 4) * 0x9e3779b97f4a7c15ULL & table_mask;
  while (table[i].key != 0 && table[i].key != key)
    i = (i + 1) & table_mask;
  return &table[i];
}

/* Doubles the table when it is half full.  */
static void
grow_table (void)
{
  if (2 * (table_used + 1) <= table_mask + 1)
    return;
  struct slot *old = table;
  size_t old_slots = table_mask + 1;
  table = map (2 * old_slots * sizeof *table);
  table_mask = 2 * old_slots - 1;
  for (size_t i = 0; i < old_slots; i++)
    if (old[i].key != 0)
      *find (old[i].key) = old[i];
  munmap (old, old_slots * sizeof *table);
}

/* Resident kilobytes of [p, p + bytes).  */
static long
resident_kb (void *p, size_t bytes)
{
  size_t page = getpagesize (), pages = (bytes + page - 1) / page;
  unsigned char *vec = map (pages);
  long n = 0;
  if (mincore (p, bytes, vec) == 0)
    for (size_t i = 0; i < pages; i++)
      n += vec[i] & 1;
  munmap (vec, pages);
  return n * (long) page / 1024;
}

/* Deletion with backward shift, so probes stay correct.  */
static void
erase (struct slot *s)
{
  size_t i = s - table;
  table[i].key = 0;
  table_used--;
  for (size_t j = (i + 1) & table_mask; table[j].key != 0;
       j = (j + 1) & table_mask)
    {
      size_t home = (table[j].key >> 4) * 0x9e3779b97f4a7c15ULL & table_mask;
      if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j))
	{
	  table[i] = table[j];
	  table[j].key = 0;
	  i = j;
	}
    }
}

#include "view.c"

static long
status_kb (const char *key)
{
  int fd = open ("/proc/self/status", O_RDONLY);
  char buf[4096];
  ssize_t n = fd < 0 ? -1 : read (fd, buf, sizeof buf - 1);
  if (fd >= 0)
    close (fd);
  if (n <= 0)
    return -1;
  buf[n] = '\0';
  char *p = strstr (buf, key);
  return p == NULL ? -1 : strtol (p + strlen (key), NULL, 10);
}

static size_t
heap_bytes (void)
{
  struct mallinfo2 mi = mallinfo2 ();
  return mi.arena + mi.hblkhd;
}

int
main (int argc, char **argv)
{
  long view_every = 0;
  if (argc == 4 && strcmp (argv[1], "--view") == 0)
    {
      view_every = atol (argv[2]);
      if (view_every <= 0)
	{
	  fprintf (stderr, "replay: --view takes a positive number of calls\n");
	  return 2;
	}
      view_no_aslr (argv);
      argv += 2;
      argc -= 2;
    }
  if (argc != 2)
    {
      fprintf (stderr, "usage: replay [--view EVERY] TRACE.jsonl\n");
      return 2;
    }
  trace_name = argv[1];
  int fd = open (trace_name, O_RDONLY);
  struct stat st;
  if (fd < 0 || fstat (fd, &st) != 0)
    die (0, strerror (errno));
  if (st.st_size == 0)
    die (0, "empty trace");
  const char *text = mmap (NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (text == MAP_FAILED)
    die (0, strerror (errno));
  const char *end = text + st.st_size;

  /* Records land at their seq: the file holds them in the order the calls
     returned, which threads may have interleaved.  */
  size_t lines = 0;
  for (const char *p = text; p < end; p++)
    lines += *p == '\n';
  size_t cap = lines + 1;
  struct rec *recs = map (cap * sizeof *recs);
  long line = 0;
  size_t count = 0;
  for (const char *p = text; p < end;)
    {
      const char *e = memchr (p, '\n', end - p);
      if (e == NULL)
	e = end;
      line++;
      if (e > p)
	{
	  if (*p != '{' || e[-1] != '}')
	    die (line, "not a JSON object");
	  const char *opv = field (p, e, "op");
	  if (opv == NULL || *opv != '"')
	    die (line, "no \"op\"");
	  const char *q = memchr (opv + 1, '"', e - opv - 1);
	  if (q == NULL)
	    die (line, "unterminated \"op\"");
	  size_t n = q - opv - 1;
	  if (n == 5 && memcmp (opv + 1, "start", 5) == 0)
	    {
	      p = e + 1;
	      continue;
	    }
	  enum op op = OP_NONE;
	  for (int i = OP_MALLOC; i <= OP_PVALLOC; i++)
	    if (strlen (names[i]) == n && memcmp (names[i], opv + 1, n) == 0)
	      op = i;
	  if (op == OP_NONE)
	    {
	      char msg[128];
	      snprintf (msg, sizeof msg, "unknown op \"%.*s\"", (int) (n > 40 ? 40 : n),
			opv + 1);
	      die (line, msg);
	    }
	  uint64_t seq = number (field (p, e, "seq"), line, "seq");
	  if (seq >= cap)
	    die (line, "\"seq\" beyond the number of records: not one process's trace");
	  struct rec *r = &recs[seq];
	  if (r->op != OP_NONE)
	    die (line, "\"seq\" repeats");
	  r->op = op;
	  /* The fields each op must have (docs/experimenting.md,
	     "Tracing").  */
	  bool has_size = op != OP_FREE;
	  bool has_nmemb = op == OP_CALLOC || op == OP_REALLOCARRAY;
	  bool has_alignment = op == OP_MEMALIGN || op == OP_ALIGNED_ALLOC
	    || op == OP_POSIX_MEMALIGN || op == OP_FREE_ALIGNED_SIZED;
	  bool has_ptr = op == OP_REALLOC || op == OP_REALLOCARRAY
	    || op == OP_FREE || op == OP_FREE_SIZED
	    || op == OP_FREE_ALIGNED_SIZED;
	  if (has_size)
	    r->size = number (field (p, e, "size"), line, "size");
	  if (has_nmemb)
	    r->nmemb = number (field (p, e, "nmemb"), line, "nmemb");
	  if (has_alignment)
	    r->alignment = number (field (p, e, "alignment"), line, "alignment");
	  if (has_ptr)
	    r->ptr = pointer (field (p, e, "ptr"), line, "ptr");
	  if (op != OP_FREE && op != OP_FREE_SIZED && op != OP_FREE_ALIGNED_SIZED)
	    r->ret = pointer (field (p, e, "ret"), line, "ret");
	  count++;
	}
      p = e + 1;
    }
  if (count == 0)
    die (0, "no calls in the trace");
  if (view_every > 0)
    view_init ();

  /* The trace's text is parsed: its pages leave the resident set.  */
  munmap ((void *) text, st.st_size);
  close (fd);
  table = map (1024 * sizeof *table);
  table_mask = 1024 - 1;

  /* Reset the high-water mark of the resident set.  */
  int cr = open ("/proc/self/clear_refs", O_WRONLY);
  if (cr >= 0)
    {
      if (write (cr, "5", 1) != 1)
	cr = -1;
      close (cr);
    }
  long rss_start = status_kb ("VmRSS:");

  size_t live = 0, peak_live = 0, peak_heap = 0, live_at_peak_heap = 0;
  size_t done = 0, unmatched = 0;
  long long sampling_ns = 0;
  struct timespec t0, t1;
  clock_gettime (CLOCK_MONOTONIC, &t0);
  for (size_t i = 0; i < cap; i++)
    {
      struct rec *r = &recs[i];
      if (r->op == OP_NONE)
	continue;
      void *old = NULL;
      size_t old_size = 0;
      struct slot *s = NULL;
      if (r->ptr != 0)
	{
	  s = find (r->ptr);
	  if (s->key == 0)
	    {
	      unmatched++;
	      s = NULL;
	      /* --view: a second free of a block is replayed as one.  */
	      if (view_every > 0)
		old = view_dead_get (r->ptr);
	    }
	  else
	    old = s->live, old_size = s->size;
	}
      void *got = NULL;
      size_t size = r->size;
      switch (r->op)
	{
	case OP_MALLOC: got = malloc (size); break;
	case OP_CALLOC: got = calloc (r->nmemb, size); size *= r->nmemb; break;
	case OP_REALLOC: got = realloc (old, size); break;
	case OP_REALLOCARRAY:
	  got = reallocarray (old, r->nmemb, size);
	  size *= r->nmemb;
	  break;
	case OP_FREE: case OP_FREE_SIZED: case OP_FREE_ALIGNED_SIZED:
	  /* free_sized is free for every allocator here.  */
	  free (old);
	  break;
	case OP_MEMALIGN: got = memalign (r->alignment, size); break;
	case OP_ALIGNED_ALLOC: got = aligned_alloc (r->alignment, size); break;
	case OP_POSIX_MEMALIGN:
	  if (posix_memalign (&got, r->alignment, size) != 0)
	    got = NULL;
	  break;
	case OP_VALLOC: got = valloc (size); break;
	case OP_PVALLOC: got = pvalloc (size); break;
	case OP_NONE: break;
	}
      bool frees_old = r->op == OP_FREE || r->op == OP_FREE_SIZED
	|| r->op == OP_FREE_ALIGNED_SIZED
	|| ((r->op == OP_REALLOC || r->op == OP_REALLOCARRAY)
	    && (got != NULL || size == 0));
      if (s != NULL && frees_old)
	{
	  live -= old_size;
	  erase (s);
	}
      if (view_every > 0)
	{
	  if (s != NULL && frees_old)
	    {
	      view_forget (old);
	      if (got != old)
		view_dead_put (r->ptr, old);
	    }
	  if (r->ret != 0)
	    view_dead_forget (r->ret);
	  if (got != NULL)
	    view_returned (got);
	}
      if (got != NULL && r->ret != 0)
	{
	  if (got != NULL)
	    memset (got, 0x5a, size < 64 ? size : 64);
	  grow_table ();
	  struct slot *n = find (r->ret);
	  if (n->key != 0)
	    /* The trace gave this address out twice without a free between
	       (a race between two threads' records): the newer wins.  */
	    live -= n->size;
	  else
	    table_used++;
	  n->key = r->ret;
	  n->live = got;
	  n->size = size;
	  live += size;
	}
      if (live > peak_live)
	peak_live = live;
      if (view_every > 0)
	{
	  view_step (done, got, frees_old ? old : NULL);
	  if (done % view_every == 0 || done + 1 == count)
	    view_heap (done);
	  done++;
	  continue;
	}
      /* mallinfo2 walks the bins: its time is not the trace's.  */
      if (++done % 1024 == 0)
	{
	  struct timespec a, b;
	  clock_gettime (CLOCK_MONOTONIC, &a);
	  size_t h = heap_bytes ();
	  if (h > peak_heap)
	    peak_heap = h, live_at_peak_heap = live;
	  clock_gettime (CLOCK_MONOTONIC, &b);
	  sampling_ns += (b.tv_sec - a.tv_sec) * 1000000000LL
	    + (b.tv_nsec - a.tv_nsec);
	}
    }
  clock_gettime (CLOCK_MONOTONIC, &t1);
  if (view_every > 0)
    {
      view_end (done);
      return 0;
    }
  size_t end_heap = heap_bytes ();
  if (end_heap > peak_heap)
    peak_heap = end_heap, live_at_peak_heap = live;
  long hwm = status_kb ("VmHWM:");
  long long ns = (t1.tv_sec - t0.tv_sec) * 1000000000LL
    + (t1.tv_nsec - t0.tv_nsec) - sampling_ns;
  /* The pointer map is the replayer's, not the allocator's.  */
  long own_kb = resident_kb (table, (table_mask + 1) * sizeof *table);
  printf ("{\"ops\":%zu,\"unmatched\":%zu,\"time_ns\":%lld,\"peak_rss_kb\":%ld,"
	  "\"peak_live\":%zu,\"peak_heap\":%zu,\"live_at_peak_heap\":%zu,"
	  "\"end_heap\":%zu,\"end_live\":%zu}\n",
	  done, unmatched, ns,
	  cr >= 0 && hwm >= 0 && rss_start >= 0 ? hwm - rss_start - own_kb : -1,
	  peak_live, peak_heap, live_at_peak_heap, end_heap, live);
  return 0;
}
