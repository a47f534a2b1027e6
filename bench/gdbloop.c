// Going back under gdb (bench/gdb.sh): ROUNDS rounds of one syscall and
// one call of add(); milestone() once, at round MILESTONE.
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

long total;

__attribute__((noinline)) long add(long x) {
  total += x;
  return total;
}

__attribute__((noinline)) long milestone(long x) { return x + total; }

int main(int argc, char **argv) {
  long rounds = argc > 1 ? atol(argv[1]) : 1000;
  long at = argc > 2 ? atol(argv[2]) : rounds / 2;
  long m = 0;
  for (long i = 1; i <= rounds; i++) {
    if (getppid() > 0) add(i);
    if (i == at) m = milestone(i);
  }
  printf("total %ld milestone %ld\n", total, m);
  return 0;
}
