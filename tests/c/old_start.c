/* Helper that checks nothing: a _start binding __libc_start_main@GLIBC_2.2.5, so programs linked here also run on glibc 2.31 (link with -nostartfiles).  */
/* A program linked on a newer host asks for __libc_start_main@GLIBC_2.34
   through crt1.o; glibc before 2.34 does not have that version.  This entry
   point calls the GLIBC_2.2.5 version instead, which every x86_64 glibc has,
   with no init/fini functions (the programs that use it need none).  */

__asm__ (".symver __libc_start_main_old, __libc_start_main@GLIBC_2.2.5");
extern int __libc_start_main_old (int (*) (int, char **, char **), int,
				  char **, void (*) (void), void (*) (void),
				  void (*) (void), void *);
extern int main (int, char **, char **);
void old_start_c (long, int, char **, void (*) (void));

/* On entry: %rdx is the loader's fini function, (%rsp) is argc, argv follows.  */
__asm__ (".text\n"
	 ".globl _start\n"
	 ".type _start, @function\n"
	 "_start:\n"
	 "  xor %ebp, %ebp\n"
	 "  mov %rdx, %rcx\n"
	 "  mov (%rsp), %esi\n"
	 "  lea 8(%rsp), %rdx\n"
	 "  and $-16, %rsp\n"
	 "  call old_start_c\n"
	 "  hlt\n");

void
old_start_c (long unused, int argc, char **argv, void (*rtld_fini) (void))
{
  (void) unused;
  __libc_start_main_old (main, argc, argv, 0, 0, rtld_fini, (char *) argv - 8);
}
