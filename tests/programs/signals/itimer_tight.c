// reel-test: native-differs
// A repeating 2 ms ITIMER_REAL interrupts a compute loop that makes no
// syscall until the handler has counted 8 ticks; the handler records the
// loop state at each tick. Natively the states depend on timing; under reel
// the recording must end (each tick is delivered within a bounded time) and
// the replay must print exactly what the recording printed.
#include <signal.h>
#include <stdio.h>
#include <sys/time.h>

#define N 8
static volatile unsigned long counter;
static volatile unsigned long seen[N];
static volatile sig_atomic_t ticks;

static void on_alrm(int sig) {
  (void)sig;
  if (ticks < N) seen[ticks] = counter;
  ticks++;
}

int main(void) {
  signal(SIGALRM, on_alrm);
  struct itimerval it = {{0, 2000}, {0, 2000}};
  setitimer(ITIMER_REAL, &it, NULL);
  unsigned long x = 1;
  while (ticks < N) {
    x = x * 6364136223846793005UL + 1442695040888963407UL;
    counter++;
  }
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, NULL);
  for (int i = 0; i < N; i++) printf("tick %d saw counter %lu\n", i, seen[i]);
  printf("x=%lu counter=%lu\n", x, counter);
  printf("EXIT-SUCCESS\n");
  return 0;
}
