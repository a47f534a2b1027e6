// Real-time signals queue: each sigqueue is delivered once, with its value,
// lowest signal number first and in send order within a signal; a standard
// signal sent four times while blocked is delivered once.
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int order[64];
static volatile int n;

static void on_sig(int sig, siginfo_t *si, void *uc) {
  if (n < 64) order[n++] = (sig == SIGUSR1 ? 0 : (sig - SIGRTMIN) * 100) + si->si_value.sival_int;
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_sig;
  sa.sa_flags = SA_SIGINFO;
  sigset_t set;
  sigemptyset(&set);
  int sigs[] = {SIGRTMIN + 3, SIGRTMIN + 1, SIGUSR1};
  for (int i = 0; i < 3; i++) { sigaction(sigs[i], &sa, NULL); sigaddset(&set, sigs[i]); }
  sigprocmask(SIG_BLOCK, &set, NULL);
  for (int k = 1; k <= 4; k++)
    for (int i = 0; i < 3; i++) {
      union sigval v = {.sival_int = k};
      sigqueue(getpid(), sigs[i], v);
    }
  printf("queued 12, delivered so far %d\n", n);
  sigprocmask(SIG_UNBLOCK, &set, NULL);
  printf("delivered %d:", n);
  for (int i = 0; i < n; i++) printf(" %d", order[i]);
  printf("\n(0+k: SIGUSR1 value k; 100+k: SIGRTMIN+1; 300+k: SIGRTMIN+3)\n");
  printf("EXIT-SUCCESS\n");
  return 0;
}
