/* Bridges mallinfo2, the allocator API of the host's <malloc.h> (glibc 2.33
   and later), for versions that lack it. Without it a program built on the
   host that calls mallinfo2 under an older version's allocator would reach
   the host's own, idle allocator and report its empty arena. The resolver
   compiles this file only for versions whose malloc/Versions has no
   mallinfo2; it reports the version's own mallinfo, widened to size_t (the
   values are the version's, so they wrap at 2 GiB as its mallinfo does).

   It declares the two structures itself rather than including <malloc.h>,
   which is the version's own header and, from 2.33 on, declares mallinfo2
   differently.  */

#include <stddef.h>

struct mallinfo
{
  int arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks,
    fordblks, keepcost;
};

struct mallinfo2
{
  size_t arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks,
    fordblks, keepcost;
};

extern struct mallinfo __libc_mallinfo (void);
struct mallinfo2 mallinfo2 (void);

struct mallinfo2
mallinfo2 (void)
{
  struct mallinfo m = __libc_mallinfo ();
  /* The version's counters are int; glibc stores sizes in them, so read them
     back as the unsigned quantities they are.  */
  struct mallinfo2 m2 = {
    (unsigned int) m.arena, (unsigned int) m.ordblks,
    (unsigned int) m.smblks, (unsigned int) m.hblks,
    (unsigned int) m.hblkhd, (unsigned int) m.usmblks,
    (unsigned int) m.fsmblks, (unsigned int) m.uordblks,
    (unsigned int) m.fordblks, (unsigned int) m.keepcost,
  };
  return m2;
}
