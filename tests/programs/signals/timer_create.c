// reel-test: varies
// timer_create (SIGEV_SIGNAL, SIGRTMIN, a sigev_value) firing every 10 ms
// during a compute loop with an occasional syscall; the handler reads
// si_code, si_value and the loop counter. Replay must match the recording.
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define N 5
static volatile long counter;
static volatile long seen[N];
static volatile int codes_ok = 1, values_ok = 1;
static volatile sig_atomic_t fired;

static void on_timer(int sig, siginfo_t *si, void *uc) {
  if (si->si_code != SI_TIMER) codes_ok = 0;
  if (si->si_value.sival_int != 777) values_ok = 0;
  if (fired < N) seen[fired] = counter;
  fired++;
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_timer;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGRTMIN, &sa, NULL);
  struct sigevent ev;
  memset(&ev, 0, sizeof ev);
  ev.sigev_notify = SIGEV_SIGNAL;
  ev.sigev_signo = SIGRTMIN;
  ev.sigev_value.sival_int = 777;
  timer_t t;
  if (timer_create(CLOCK_MONOTONIC, &ev, &t) != 0) { perror("timer_create"); return 1; }
  struct itimerspec its = {{0, 10000000}, {0, 10000000}};
  timer_settime(t, 0, &its, NULL);
  while (fired < N) {
    for (int i = 0; i < 50000; i++) counter++;
    getppid();
  }
  timer_delete(t);
  printf("fired>=%d: %d si_code SI_TIMER: %d si_value 777: %d\n", N, fired >= N, codes_ok, values_ok);
  for (int i = 0; i < N; i++) printf("timer %d saw counter %ld\n", i, seen[i]);
  printf("EXIT-SUCCESS\n");
  return 0;
}
