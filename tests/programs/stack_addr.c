// reel-test: native-differs=aslr
// Addresses that ASLR moves from run to run: a local on the stack, main (PIE),
// a large malloc (mmap), the program break, a string in libc.
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(void) {
  int local = 42;
  void *big = malloc(1 << 20);
  printf("stack local: %p\n", (void *)&local);
  printf("main: %p\n", (void *)&main);
  printf("malloc 1 MiB: %p\n", big);
  printf("sbrk(0): %p\n", sbrk(0));
  printf("libc strlen: %p\n", (void *)&strlen);
  printf("local value: %d\n", local);
  free(big);
  printf("EXIT-SUCCESS\n");
  return 0;
}
