// raise() with a handler, with SIG_IGN, and with a blocked signal; the
// handler runs before raise() returns.
#include <signal.h>
#include <stdio.h>
#include <string.h>

static volatile sig_atomic_t count;

static void on_usr1(int sig) { count++; }

int main(void) {
  signal(SIGUSR1, on_usr1);
  for (int i = 0; i < 3; i++) {
    raise(SIGUSR1);
    printf("after raise %d: count=%d\n", i, count);
  }
  signal(SIGUSR2, SIG_IGN);
  raise(SIGUSR2);
  printf("ignored SIGUSR2: still running\n");
  signal(SIGCHLD, SIG_DFL);
  raise(SIGCHLD);
  printf("SIGCHLD with default action: still running\n");
  printf("EXIT-SUCCESS\n");
  return 0;
}
