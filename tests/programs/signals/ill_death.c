// reel-test: exit=132
// ud2 without a handler: death by SIGILL.
#include <stdio.h>
#include <sys/resource.h>

int main(void) {
  struct rlimit rl = {0, 0};
  setrlimit(RLIMIT_CORE, &rl);
  printf("executing ud2\n");
  fflush(stdout);
  __asm__ volatile("ud2");
  printf("still alive?\n");
  return 0;
}
