// Makes many syscalls (one event each), printing before and after: a replay
// long enough, in events, for `replay -a` to show its progress line.
#include <stdio.h>
#include <unistd.h>

int main(void) {
  printf("start\n");
  fflush(stdout);
  for (int i = 0; i < 3000; i++) getppid();
  printf("done\n");
  return 0;
}
