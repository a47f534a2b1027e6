// A long loop: one syscall and one call of add() per round, so that a
// replay has many events and going back starts from reel's checkpoints.
#include <stdio.h>
#include <unistd.h>

long total;

__attribute__((noinline)) long add(long x) {
  total += x;
  return total;
}

int main(void) {
  for (long i = 1; i <= 2000; i++)
    if (getppid() > 0) add(i);
  printf("total %ld\n", total);
  printf("EXIT-SUCCESS\n");
  return 0;
}
