// reel-test: checksum
// alarm() and setitimer() interrupt nanosleep: it fails with EINTR and
// reports the remaining time (printed coarsely: native timing varies).
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t alarms;
static void on_alrm(int sig) { alarms++; }

static void sleep_and_report(const char *what) {
  struct timespec req = {3, 0}, rem = {0, 0};
  int r = nanosleep(&req, &rem);
  int e = errno;
  double left = rem.tv_sec + rem.tv_nsec / 1e9;
  printf("%s: nanosleep=%d errno=%s alarms=%d remaining in (1.5s, 3s): %d\n", what, r,
         r < 0 && e == EINTR ? "EINTR" : "-", alarms, left > 1.5 && left < 3.0);
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alrm;
  sigaction(SIGALRM, &sa, NULL);
  alarm(1);
  sleep_and_report("alarm(1)");
  struct itimerval it = {{0, 0}, {0, 100000}};
  setitimer(ITIMER_REAL, &it, NULL);
  sleep_and_report("setitimer 100ms");
  unsigned left = alarm(0);
  printf("no alarm pending: %u\n", left);
  printf("EXIT-SUCCESS\n");
  return 0;
}
