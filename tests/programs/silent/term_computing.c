// A process computing without syscalls is killed by SIGTERM (default
// action) from its child: the signal arrives wherever the loop happens to
// be. reel delivers it at a landmark, so replay can check the registers it
// arrives with. Exits 143 (killed by SIGTERM).
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

int main(void) {
  int p[2];
  if (pipe(p)) return 1;
  pid_t parent = getpid();
  if (fork() == 0) {
    char c;
    if (read(p[0], &c, 1) != 1) return 1;
    kill(parent, SIGTERM);
    return 0;
  }
  printf("computing\n");
  fflush(stdout);
  if (write(p[1], "x", 1) != 1) return 1;
  volatile unsigned long x = 1;
  for (;;) x = x * 6364136223846793005UL + 1;
}
