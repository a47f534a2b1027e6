// reel-test: exit=133
// int3 without a handler: death by SIGTRAP.
#include <stdio.h>
#include <sys/resource.h>

int main(void) {
  struct rlimit rl = {0, 0};
  setrlimit(RLIMIT_CORE, &rl);
  printf("executing int3\n");
  fflush(stdout);
  __asm__ volatile("int3");
  printf("still alive?\n");
  return 0;
}
