// reel-test: exit=139
// Writes through a null pointer: death by SIGSEGV, status 128+11. No core
// file is written (RLIMIT_CORE is set to 0 first).
#include <stdio.h>
#include <sys/resource.h>

int main(void) {
  struct rlimit rl = {0, 0};
  setrlimit(RLIMIT_CORE, &rl);
  printf("about to write through a null pointer\n");
  fflush(stdout);
  *(volatile int *)0 = 1;
  printf("still alive?\n");
  return 0;
}
