// reel-test: varies
// A periodic ITIMER_REAL (5 ms) during a compute loop that makes a syscall
// every 20000 iterations. The handler records the loop counter it saw; the
// values depend on timing (hence `varies`), but replay must print exactly
// what the recording printed.
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#define N 12
static volatile long counter;
static volatile long seen[N];
static volatile sig_atomic_t ticks;

static void on_alrm(int sig) {
  if (ticks < N) seen[ticks] = counter;
  ticks++;
}

int main(void) {
  signal(SIGALRM, on_alrm);
  struct itimerval it = {{0, 5000}, {0, 5000}};
  setitimer(ITIMER_REAL, &it, NULL);
  unsigned long x = 1;
  while (ticks < N) {
    for (int i = 0; i < 20000; i++) {
      x = x * 6364136223846793005UL + 1442695040888963407UL;
      counter++;
    }
    getppid();
  }
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, NULL);
  printf("ticks>=%d: %d\n", N, ticks >= N);
  for (int i = 0; i < N; i++)
    printf("tick %d saw counter %ld (multiple of 20000: %d)\n", i, seen[i], seen[i] % 20000 == 0);
  printf("x=%lu counter=%ld\n", x, counter);
  printf("EXIT-SUCCESS\n");
  return 0;
}
