// reel-test: exit=134
// abort(): death by SIGABRT (status 134), even with a handler that returns.
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/resource.h>

static void on_abrt(int sig) {
  static const char msg[] = "SIGABRT handler ran\n";
  write(1, msg, sizeof msg - 1);
}

int main(void) {
  struct rlimit rl = {0, 0};
  setrlimit(RLIMIT_CORE, &rl);
  signal(SIGABRT, on_abrt);
  printf("calling abort\n");
  fflush(stdout);
  abort();
}
