/* Stands in for ld.so's tunables (elf/dl-tunables.c) as far as malloc
   needs them: the table glibc generates from elf/dl-tunables.list (here
   from malloc-standalone-tunables.h, same list), filled from
   GLIBC_TUNABLES and the environment aliases (MALLOC_ARENA_MAX, ...) the
   first time malloc asks, since ld.so here is the host's.  Like ld.so it
   reads the environment the kernel passed at startup, which a program
   cannot have changed yet, and which exists even for allocations made
   before libc has set environ.

   It follows glibc's parsers.  Up to 2.38 the environment is read in
   order: a GLIBC_TUNABLES entry always sets the tunable, an alias only if
   nothing set it yet, a number is read up to the first character that is
   not a digit, and AT_SECURE programs honour each tunable's security
   level (SXID_ERASE: ignored and removed from the environment,
   SXID_IGNORE: ignored, NONE: read; glibc.malloc.check is read if
   /etc/suid-debug exists).  From 2.39 GLIBC_TUNABLES is checked whole and
   ignored if malformed, its last setting of a tunable counts, numbers must
   span the whole value, aliases only fill in what it left unset, and
   AT_SECURE programs (or glibc.rtld.enable_secure=1) ignore all of them;
   from 2.44 an alias also yields to a GLIBC_TUNABLES setting that was out
   of range.  The trees mark the changes with the files that came with
   them: <dl-tunables-parse.h> (2.39), <elf/tunconf.h> (2.44, whose
   system-wide tunables in ld.so.cache are not read here).  ld.so's
   warnings about invalid values are not printed.  */
#include <elf/dl-tunables.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#if __has_include (<dl-tunables-parse.h>)
# define STRICT_PARSER 1
#else
# define STRICT_PARSER 0
#endif
#if __has_include (<elf/tunconf.h>)
# define ALIAS_YIELDS_TO_ANY_SETTING 1
#else
# define ALIAS_YIELDS_TO_ANY_SETTING 0
#endif

enum { TYPE_INT_32, TYPE_UINT_64, TYPE_SIZE_T, TYPE_STRING };
enum { SECLEVEL_SXID_ERASE, SECLEVEL_SXID_IGNORE, SECLEVEL_NONE };

struct tunable
{
  const char *name;
  int type;
  tunable_num_t min, max;
  tunable_val_t val;
  bool initialized;
  int security_level;
  const char *env_alias;
};

static struct tunable tunable_list[] =
{
#define MALLOC_STANDALONE_TUNABLE(top, ns, id, type, min, max, def, alias, sec) \
  [TUNABLE_ENUM_NAME (top, ns, id)] =					\
    { #top "." #ns "." #id, TYPE_##type, (tunable_num_t) (min),		\
      (tunable_num_t) (max), { .numval = (def) }, false,		\
      SECLEVEL_##sec, alias },
#include <malloc-standalone-tunables.h>
#undef MALLOC_STANDALONE_TUNABLE
};
#define NTUNABLES (sizeof tunable_list / sizeof tunable_list[0])

/* elf/dl-misc.c's _dl_strtoul: optional sign, 0x hex, 0 octal.  */
static uint64_t
parse_number (const char *s, const char **end)
{
  uint64_t result = 0;
  bool negative = false;
  while (*s == ' ' || *s == '\t')
    s++;
  if (*s == '-' || *s == '+')
    negative = *s++ == '-';
  if (*s < '0' || *s > '9')
    {
      *end = s;
      return 0;
    }
  unsigned int base = 10;
  if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
    {
      base = 16;
      s += 2;
    }
  else if (s[0] == '0')
    base = 8;
  for (;; s++)
    {
      unsigned int digit;
      if (*s >= '0' && *s <= '9')
	digit = *s - '0';
      else if (base == 16 && *s >= 'a' && *s <= 'f')
	digit = *s - 'a' + 10;
      else if (base == 16 && *s >= 'A' && *s <= 'F')
	digit = *s - 'A' + 10;
      else
	break;
      if (digit >= base)
	break;
      if (result > (UINT64_MAX - digit) / base)
	{
	  *end = s;
	  return UINT64_MAX;
	}
      result = result * base + digit;
    }
  *end = s;
  return negative ? -result : result;
}

static bool
value_below (tunable_num_t a, tunable_num_t b, bool unsigned_cmp)
{
  return unsigned_cmp ? (uintmax_t) a < (uintmax_t) b : a < b;
}

/* Set CUR from the LEN bytes at VALUE if they are a number in range.
   False if they are not a number.  */
static bool
tunable_initialize (struct tunable *cur, const char *value, size_t len)
{
  const char *end;
  tunable_num_t val = parse_number (value, &end);
  if (STRICT_PARSER && end != value + len)
    return false;
  bool unsigned_cmp = cur->type != TYPE_INT_32;
  if (STRICT_PARSER)
    /* 2.39 on narrow the number to the tunable's type first.  */
    val = (cur->type == TYPE_INT_32 ? (tunable_num_t) (int32_t) val
	   : cur->type == TYPE_SIZE_T ? (tunable_num_t) (size_t) val : val);
  if (!value_below (val, cur->min, unsigned_cmp)
      && !value_below (cur->max, val, unsigned_cmp))
    {
      cur->val.numval = val;
      cur->initialized = true;
    }
  return true;
}

static struct tunable *
tunable_named (const char *name, size_t len)
{
  for (size_t i = 0; i < NTUNABLES; i++)
    if (strncmp (tunable_list[i].name, name, len) == 0
	&& tunable_list[i].name[len] == '\0')
      return &tunable_list[i];
  return NULL;
}

/* Up to 2.38.  In an AT_SECURE program, rewrite the string in place
   without the SXID_ERASE tunables, as glibc does with its copy (entries
   this table does not know are kept: the host's ld.so has judged them).  */
static void
parse_tunables_in_order (char *tunestr, bool secure)
{
  char *out = tunestr;
  const char *p = tunestr;
  while (*p != '\0')
    {
      const char *name = p;
      size_t namelen = strcspn (p, "=:");
      if (p[namelen] == '\0')
	break;
      if (p[namelen] == ':')
	{
	  p += namelen + 1;
	  continue;
	}
      const char *value = p + namelen + 1;
      size_t len = strcspn (value, ":");
      p = value[len] == '\0' ? value + len : value + len + 1;
      struct tunable *cur = tunable_named (name, namelen);
      if (secure && (cur == NULL
		     || cur->security_level != SECLEVEL_SXID_ERASE))
	{
	  if (out != tunestr)
	    *out++ = ':';
	  memmove (out, name, namelen + 1 + len);
	  out += namelen + 1 + len;
	}
      if (cur != NULL && (!secure || cur->security_level == SECLEVEL_NONE))
	tunable_initialize (cur, value, len);
    }
  if (secure)
    *out = '\0';
}

/* From 2.39.  The last setting of each tunable counts; a malformed string
   (a name without a value, a value with '=', a trailing ':') is ignored
   whole.  glibc.rtld.enable_secure=1 (2.40 on, if the generated list has
   it) makes the process secure: returns false then.  */
static bool
parse_tunables_strict (const char *valstring, bool set_by_env[])
{
  struct { const char *value; size_t len; } found[NTUNABLES] = { { 0 } };
  for (const char *p = valstring; *valstring != '\0';)
    {
      const char *name = p;
      size_t namelen = strcspn (p, "=:");
      if (p[namelen] == '\0')
	return true;
      if (p[namelen] == ':')
	{
	  p += namelen + 1;
	  continue;
	}
      const char *value = p + namelen + 1;
      size_t len = strcspn (value, "=:");
      if (value[len] == '=')
	return true;
      struct tunable *cur = tunable_named (name, namelen);
      if (cur != NULL)
	{
	  found[cur - tunable_list].value = value;
	  found[cur - tunable_list].len = len;
	}
      if (value[len] == '\0')
	break;
      p = value + len + 1;
    }
  struct tunable *es = tunable_named ("glibc.rtld.enable_secure",
				      sizeof "glibc.rtld.enable_secure" - 1);
  if (es != NULL && found[es - tunable_list].value != NULL)
    {
      const char *end, *value = found[es - tunable_list].value;
      size_t len = found[es - tunable_list].len;
      if (parse_number (value, &end) == 1 && end == value + len)
	return false;
    }
  for (size_t i = 0; i < NTUNABLES; i++)
    if (found[i].value != NULL
	&& tunable_initialize (&tunable_list[i], found[i].value, found[i].len))
      set_by_env[i] = true;
  return true;
}

static bool
env_is (const char *envline, const char *name)
{
  size_t len = strlen (name);
  return strncmp (envline, name, len) == 0 && envline[len] == '=';
}

/* Remove every NAME=... from the environment.  */
static void
erase_env (char **ep, const char *name)
{
  while (*ep != NULL)
    if (env_is (*ep, name))
      {
	char **dp = ep;
	do
	  dp[0] = dp[1];
	while (*dp++ != NULL);
      }
    else
      ++ep;
}

/* __libc_stack_end (ld.so, GLIBC_2.2.5) points at argc on the startup
   stack: argc, argv[], NULL, envp[], NULL.  The reference is weak so that
   the .so needs nothing but libc.so.6 (no DT_NEEDED on the loader, which is
   in every process's global scope and still resolves it); were it ever
   absent, the environment as it stands is the best substitute.  */
extern void *__libc_stack_end __attribute__ ((weak));
extern char **environ;

static char **
startup_environment (void)
{
  if (&__libc_stack_end == NULL || __libc_stack_end == NULL)
    return environ;
  long int *sp = __libc_stack_end;
  return (char **) (sp + 1) + *sp + 1;
}

const char *
__malloc_standalone_getenv (const char *name)
{
  size_t len = strlen (name);
  for (char **ep = startup_environment (); *ep != NULL; ep++)
    if (strncmp (*ep, name, len) == 0 && (*ep)[len] == '=')
      return *ep + len + 1;
  return NULL;
}

static void
tunables_init (void)
{
  bool secure = getauxval (AT_SECURE) != 0;
  if (STRICT_PARSER && secure)
    return;
  if (secure && access ("/etc/suid-debug", F_OK) == 0)
    for (size_t i = 0; i < NTUNABLES; i++)
      if (strcmp (tunable_list[i].name, "glibc.malloc.check") == 0)
	tunable_list[i].security_level = SECLEVEL_NONE;

  const char *alias_value[NTUNABLES] = { 0 };
  bool set_by_env[NTUNABLES] = { 0 };
  for (char **ep = startup_environment (); *ep != NULL; ep++)
    {
      char *envline = *ep;
      if (env_is (envline, "GLIBC_TUNABLES"))
	{
	  char *value = envline + sizeof "GLIBC_TUNABLES";
	  if (!STRICT_PARSER)
	    parse_tunables_in_order (value, secure);
	  else if (!parse_tunables_strict (value, set_by_env))
	    secure = true;
	  continue;
	}
      for (size_t i = 0; i < NTUNABLES; i++)
	{
	  struct tunable *cur = &tunable_list[i];
	  if (cur->env_alias == NULL || !env_is (envline, cur->env_alias))
	    continue;
	  const char *value = envline + strlen (cur->env_alias) + 1;
	  if (STRICT_PARSER)
	    alias_value[i] = value;
	  else if (!cur->initialized)
	    {
	      if (secure && cur->security_level == SECLEVEL_SXID_ERASE)
		{
		  erase_env (ep, cur->env_alias);
		  ep--;		/* Read the entry that moved into *EP.  */
		}
	      if (secure && cur->security_level != SECLEVEL_NONE)
		continue;
	      tunable_initialize (cur, value, strlen (value));
	    }
	  break;
	}
    }
  if (secure)
    return;
  for (size_t i = 0; i < NTUNABLES; i++)
    if (alias_value[i] != NULL && !tunable_list[i].initialized
	&& !(ALIAS_YIELDS_TO_ANY_SETTING && set_by_env[i]))
      tunable_initialize (&tunable_list[i], alias_value[i],
			  strlen (alias_value[i]));
}

/* Malloc asks for its tunables while it initialises, before it can have
   more than one thread.  */
static struct tunable *
tunable_get (tunable_id_t id)
{
  static bool done;
  if (!done)
    {
      done = true;
      tunables_init ();
    }
  return &tunable_list[id];
}

void
__tunable_get_val (tunable_id_t id, void *valp, tunable_callback_t callback)
{
  struct tunable *cur = tunable_get (id);
  switch (cur->type)
    {
    case TYPE_INT_32:
      *(int32_t *) valp = cur->val.numval;
      break;
    case TYPE_UINT_64:
      *(uint64_t *) valp = cur->val.numval;
      break;
    case TYPE_SIZE_T:
      *(size_t *) valp = cur->val.numval;
      break;
    default:
      *(struct tunable_str_t *) valp = cur->val.strval;
      break;
    }
  if (cur->initialized && callback != NULL)
    callback (&cur->val);
}

bool
__tunable_is_initialized (tunable_id_t id)
{
  return tunable_get (id)->initialized;
}
