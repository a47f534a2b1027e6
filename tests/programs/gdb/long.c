// A long loop: one syscall and one call of add() per round, so that a
// replay has many events and going back starts from reel's checkpoints;
// milestone() is called once, far behind the end.
#include <stdio.h>
#include <unistd.h>

long total;

__attribute__((noinline)) long add(long x) {
  total += x;
  return total;
}

__attribute__((noinline)) long milestone(long x) { return x + total; }

int main(void) {
  long m = 0;
  for (long i = 1; i <= 2000; i++) {
    if (getppid() > 0) add(i);
    if (i == 1200) m = milestone(i);
  }
  printf("total %ld milestone %ld\n", total, m);
  printf("EXIT-SUCCESS\n");
  return 0;
}
