// A compute loop that a SIGALRM interrupts (at a landmark), and a function
// that is never called, whose address the program prints. A test moves the
// recorded landmark into that function: the replayed thread then never
// reaches the landmark's instruction and never makes a syscall, and the
// replay must report the divergence once the thread has used far more CPU
// time than the recorded one did, instead of spinning for ever.
#include <signal.h>
#include <stdio.h>
#include <sys/time.h>

static volatile sig_atomic_t done;
static volatile unsigned long spins, other;

static void on_alrm(int sig) {
  (void)sig;
  done = 1;
}

__attribute__((noinline, used)) void never_called(void) {
  for (;;) other = other * 3 + 1;
}

int main(void) {
  printf("never_called at %p\n", (void *)never_called);
  fflush(stdout);
  signal(SIGALRM, on_alrm);
  struct itimerval it = {{0, 0}, {0, 20000}};
  setitimer(ITIMER_REAL, &it, NULL);
  while (!done) spins++;
  printf("spins=%lu\n", spins);
  return 0;
}
