// reel-test: exit=136
// Integer division by zero without a handler: death by SIGFPE.
#include <stdio.h>
#include <sys/resource.h>

int main(void) {
  struct rlimit rl = {0, 0};
  setrlimit(RLIMIT_CORE, &rl);
  printf("dividing by zero\n");
  fflush(stdout);
  int q, a = 7, b = 0;
  __asm__ volatile("cltd\n\tidiv %%ecx" : "=a"(q) : "a"(a), "c"(b) : "edx");
  printf("still alive? %d\n", q);
  return 0;
}
