// A compute loop with NO syscalls spins until a SIGALRM handler sets a
// flag (setitimer, 50 ms). reel can only deliver the signal by interrupting
// the task (Interrupted delivery).
#include <signal.h>
#include <stdio.h>
#include <sys/time.h>

static volatile sig_atomic_t done;
static void on_alrm(int sig) { done = 1; }

int main(void) {
  signal(SIGALRM, on_alrm);
  struct itimerval it = {{0, 0}, {0, 50000}};
  setitimer(ITIMER_REAL, &it, NULL);
  unsigned long spins = 0;
  while (!done) spins++;
  printf("alarm handled, loop ended after more than 1000 spins: %d\n", spins > 1000);
  printf("EXIT-SUCCESS\n");
  return 0;
}
