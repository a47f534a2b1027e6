// Loads a known pattern into ymm0 and keeps the thread pointer (fs_base,
// as %fs:0 holds it) in a global; gdb tests stop at after_load and
// compare $ymm0 and $fs_base with them.
#include <stdio.h>

static unsigned char pattern[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                    12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                                    23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
unsigned long tp;
__thread long tls_var = 42;

int main(void) {
  tls_var = 7;
  __asm__ volatile("mov %%fs:0, %0" : "=r"(tp));
  __asm__ volatile("vmovdqu %0, %%ymm0\n\t"
                   ".globl after_load\n"
                   "after_load:\n\t"
                   "nop" ::"m"(pattern)
                   : "xmm0");
  printf("tls %ld\n", tls_var);
  printf("EXIT-SUCCESS\n");
  return 0;
}
