// reel-test: exit=139
// A SA_RESETHAND SIGSEGV handler runs once and returns without fixing the
// cause: the fault repeats, now with the default action (death).
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>

static void on_segv(int sig) {
  static const char msg[] = "handler ran once\n";
  write(1, msg, sizeof msg - 1);
}

int main(void) {
  struct rlimit rl = {0, 0};
  setrlimit(RLIMIT_CORE, &rl);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_segv;
  sa.sa_flags = SA_RESETHAND;
  sigaction(SIGSEGV, &sa, NULL);
  printf("faulting\n");
  fflush(stdout);
  *(volatile int *)8 = 1;
  printf("still alive?\n");
  return 0;
}
