// SIGTRAP from int3 with a handler: execution continues after the int3.
#include <signal.h>
#include <stdio.h>
#include <string.h>

static volatile sig_atomic_t count;
static volatile int code;

static void on_trap(int sig, siginfo_t *si, void *uc) {
  count++;
  code = si->si_code;
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_trap;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGTRAP, &sa, NULL);
  int x = 0;
  for (int i = 0; i < 4; i++) {
    __asm__ volatile("int3");
    x += i;
  }
  printf("int3 handled %d times, x=%d, si_code=%s\n", count, x,
         code == SI_KERNEL ? "SI_KERNEL" : "other");
  printf("EXIT-SUCCESS\n");
  return 0;
}
