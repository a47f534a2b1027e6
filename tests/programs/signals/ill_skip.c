// SIGILL from ud2; the handler skips the 2-byte instruction via ucontext.
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>

static volatile sig_atomic_t count;
static volatile int code;
static volatile long at;

static void on_ill(int sig, siginfo_t *si, void *ucv) {
  ucontext_t *uc = ucv;
  count++;
  code = si->si_code;
  at = (long)si->si_addr == uc->uc_mcontext.gregs[REG_RIP];
  uc->uc_mcontext.gregs[REG_RIP] += 2;
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_ill;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGILL, &sa, NULL);
  for (int i = 0; i < 3; i++) {
    __asm__ volatile("ud2");
    printf("after ud2 #%d: handler count %d\n", i, count);
  }
  printf("si_code=%s si_addr==rip:%ld\n", code == ILL_ILLOPN ? "ILL_ILLOPN" : "other", at);
  printf("EXIT-SUCCESS\n");
  return 0;
}
