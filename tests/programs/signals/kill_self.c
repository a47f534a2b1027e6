// reel-test: exit=143
// kill(getpid()) with handlers (SIGUSR1, SIGHUP), then with the default
// action of SIGTERM: death, status 143.
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t usr1, hup;
static volatile pid_t from = -1;

static void on_sig(int sig, siginfo_t *si, void *uc) {
  if (sig == SIGUSR1) usr1++;
  else hup++;
  from = si->si_pid;
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_sig;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGUSR1, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  kill(getpid(), SIGUSR1);
  kill(getpid(), SIGHUP);
  kill(getpid(), SIGUSR1);
  printf("usr1=%d hup=%d si_pid==getpid:%d\n", usr1, hup, from == getpid());
  printf("now SIGTERM\n");
  fflush(stdout);
  kill(getpid(), SIGTERM);
  printf("still alive?\n");
  return 0;
}
