// SIGFPE from an integer division by zero; the handler skips the 2-byte
// `idiv %ecx` through the ucontext and sets the quotient register.
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>

static volatile sig_atomic_t count;
static volatile int code;

static void on_fpe(int sig, siginfo_t *si, void *ucv) {
  ucontext_t *uc = ucv;
  count++;
  code = si->si_code;
  uc->uc_mcontext.gregs[REG_RIP] += 2; // idiv %ecx is f7 f9
  uc->uc_mcontext.gregs[REG_RAX] = -1;
}

static int divide(int a, int b) {
  int q;
  __asm__ volatile("cltd\n\tidiv %%ecx" : "=a"(q) : "a"(a), "c"(b) : "edx");
  return q;
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fpe;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGFPE, &sa, NULL);
  int sum = 0;
  for (int i = 0; i < 6; i++)
    sum += divide(100, i % 3);
  printf("handler ran %d times, si_code=%s, sum=%d\n", count,
         code == FPE_INTDIV ? "FPE_INTDIV" : "other", sum);
  printf("EXIT-SUCCESS\n");
  return 0;
}
