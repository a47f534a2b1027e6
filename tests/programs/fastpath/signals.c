// A tight loop of in-process calls while an interval timer fires: the
// signals must be delivered at calls (recorded), not lost in the burst.
#include <signal.h>
#include <stdio.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t ticks;
static void on_alarm(int sig) { (void)sig; ticks++; }

int main(void) {
  struct sigaction sa = {0};
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, 0);
  struct itimerval it = {{0, 2000}, {0, 2000}};
  setitimer(ITIMER_REAL, &it, 0);
  unsigned long calls = 0, seen = 0;
  // What the loop computes depends on when each signal came: replay must
  // deliver them at the same calls to print the same.
  while (ticks < 20) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    calls += getppid() > 0;
    if (ticks != seen) { seen = ticks; calls = calls * 3 + 1; }
  }
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, 0);
  printf("signals: %d ticks, state %lx\n", (int)ticks, calls);
  printf("EXIT-SUCCESS\n");
  return 0;
}
