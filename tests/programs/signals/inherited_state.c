// What a program finds at start: no signal ignored, none blocked, no
// alternate stack, no pending signal (the test harness starts it so, and
// reel must not change it).
#include <signal.h>
#include <stdio.h>

int main(void) {
  sigset_t mask, pend;
  sigprocmask(SIG_BLOCK, NULL, &mask);
  sigpending(&pend);
  for (int s = 1; s < NSIG; s++) {
    if (s == SIGKILL || s == SIGSTOP || (s > 31 && s < SIGRTMIN)) continue;
    struct sigaction sa;
    if (sigaction(s, NULL, &sa) != 0) continue;
    if (sa.sa_handler == SIG_IGN) printf("signal %d is ignored\n", s);
    else if (sa.sa_handler != SIG_DFL) printf("signal %d has a handler\n", s);
    if (sigismember(&mask, s)) printf("signal %d is blocked\n", s);
    if (sigismember(&pend, s)) printf("signal %d is pending\n", s);
  }
  stack_t ss;
  sigaltstack(NULL, &ss);
  printf("alternate stack disabled: %d\n", (ss.ss_flags & SS_DISABLE) != 0);
  printf("EXIT-SUCCESS\n");
  return 0;
}
