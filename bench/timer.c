// A repeating 2 ms ITIMER_REAL interrupts a compute loop without syscalls
// until the handler has counted 8 ticks (the program). Under reel
// every tick goes in at a landmark.
#include <signal.h>
#include <stdio.h>
#include <sys/time.h>

static volatile unsigned long counter, seen[8];
static volatile sig_atomic_t ticks;

static void on_alrm(int sig) {
  (void)sig;
  if (ticks < 8) seen[ticks] = counter;
  ticks++;
}

int main(void) {
  signal(SIGALRM, on_alrm);
  struct itimerval it = {{0, 2000}, {0, 2000}};
  setitimer(ITIMER_REAL, &it, NULL);
  unsigned long x = 1;
  while (ticks < 8) {
    x = x * 6364136223846793005UL + 1442695040888963407UL;
    counter++;
  }
  for (int i = 0; i < 8; i++) printf("%lu\n", seen[i]);
  printf("%lu\n", x);
  return 0;
}
