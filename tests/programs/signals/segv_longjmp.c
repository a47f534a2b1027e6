// reel-test: checksum
// SIGSEGV handlers that siglongjmp out, several times in a row, with the
// signal mask restored each time (sigsetjmp(env, 1)).
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static sigjmp_buf env;
static volatile sig_atomic_t faults;
static void *volatile last_addr;
static volatile int last_code;

static void on_segv(int sig, siginfo_t *si, void *uc) {
  faults++;
  last_addr = si->si_addr;
  last_code = si->si_code;
  siglongjmp(env, 1);
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGSEGV, &sa, NULL);
  int recovered = 0;
  for (int i = 0; i < 5; i++) {
    if (sigsetjmp(env, 1) == 0) {
      *(volatile int *)(long)(16 * i) = i;
      printf("not reached\n");
    } else {
      recovered++;
      printf("recovered %d: si_addr=%p si_code=%s\n", i, last_addr,
             last_code == SEGV_MAPERR ? "SEGV_MAPERR" : "other");
    }
  }
  sigset_t cur;
  sigprocmask(SIG_BLOCK, NULL, &cur);
  printf("faults=%d recovered=%d segv blocked after longjmp=%d\n", faults,
         recovered, sigismember(&cur, SIGSEGV));
  printf("EXIT-SUCCESS\n");
  return 0;
}
