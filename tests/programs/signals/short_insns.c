// reel-test: native-differs
// A loop made only of short instructions (none of 5 bytes: a `jmp rel32`
// fits over no single one of them) runs until a SIGALRM handler sets a
// flag. Replay's compare stub must displace several instructions at once
// (none of whose inner boundaries the loop jumps to) to find the landmark.
#include <signal.h>
#include <stdio.h>
#include <sys/time.h>

static volatile int done;
static void on_alrm(int s) { (void)s; done = 1; }

int main(void) {
  signal(SIGALRM, on_alrm);
  struct itimerval it = {{0, 0}, {0, 20000}};
  setitimer(ITIMER_REAL, &it, 0);
  unsigned long a = 0, b = 1, i = 0;
  volatile int *p = &done;
  __asm__ volatile("1: inc %0; add %0, %1; xor %1, %2; cmpl $0, (%3); je 1b"
                   : "+r"(i), "+r"(a), "+r"(b)
                   : "r"(p)
                   : "cc", "memory");
  printf("passes %lu, state %lu %lu\n", i, a, b);
  printf("EXIT-SUCCESS\n");
  return 0;
}
