// reel-test: varies
// Like busy_alarm, but prints the loop state the handler saw and the state
// after the loop: an exact replay must reproduce these numbers (which is
// what landmarks are for; without them the replay is approximate).
#include <signal.h>
#include <stdio.h>
#include <sys/time.h>

static volatile sig_atomic_t done;
static volatile unsigned long spins, seen;
static void on_alrm(int sig) { seen = spins; done = 1; }

int main(void) {
  signal(SIGALRM, on_alrm);
  struct itimerval it = {{0, 0}, {0, 50000}};
  setitimer(ITIMER_REAL, &it, NULL);
  while (!done) spins++;
  printf("handler saw spins=%lu, loop ended at %lu\n", seen, spins);
  printf("EXIT-SUCCESS\n");
  return 0;
}
