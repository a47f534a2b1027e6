// Signals raised while blocked stay pending (standard ones coalesce) and are
// delivered when sigprocmask unblocks them, before sigprocmask returns.
#include <signal.h>
#include <stdio.h>
#include <string.h>

static volatile sig_atomic_t usr1, usr2, step;
static volatile int usr1_step = -1;

static void on_sig(int sig) {
  if (sig == SIGUSR1) { usr1++; usr1_step = step; }
  else usr2++;
}

int main(void) {
  signal(SIGUSR1, on_sig);
  signal(SIGUSR2, on_sig);
  sigset_t set, pend;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  sigprocmask(SIG_BLOCK, &set, NULL);
  for (int i = 0; i < 3; i++) raise(SIGUSR1);
  raise(SIGUSR2);
  sigpending(&pend);
  printf("while blocked: usr1=%d usr2=%d pending usr1=%d usr2=%d\n", usr1, usr2,
         sigismember(&pend, SIGUSR1), sigismember(&pend, SIGUSR2));
  step = 1;
  sigprocmask(SIG_UNBLOCK, &set, NULL);
  step = 2;
  sigpending(&pend);
  printf("after unblock: usr1=%d (in step %d) pending usr1=%d\n", usr1, usr1_step,
         sigismember(&pend, SIGUSR1));
  printf("EXIT-SUCCESS\n");
  return 0;
}
