// reel-test: native-differs
// A loop whose passes are slow (CPUID traps to the hypervisor in a VM, tens
// of microseconds): a 20 ms timer interrupts it after a few thousand
// passes, few enough for replay's plain-breakpoint landmark search (one
// ptrace stop per pass), which tests/signals.rs forces on this program.
#include <cpuid.h>
#include <signal.h>
#include <stdio.h>
#include <sys/time.h>

static volatile sig_atomic_t done;
static volatile unsigned long passes, seen;

static void on_alrm(int sig) {
  (void)sig;
  seen = passes;
  done = 1;
}

int main(void) {
  signal(SIGALRM, on_alrm);
  struct itimerval it = {{0, 0}, {0, 20000}};
  setitimer(ITIMER_REAL, &it, NULL);
  unsigned a, b, c, d;
  while (!done) {
    __cpuid(0, a, b, c, d);
    passes++;
  }
  printf("handler saw %lu passes (%d)\n", seen, a > 0);
  printf("EXIT-SUCCESS\n");
  return 0;
}
