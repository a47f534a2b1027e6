// reel-test: checksum
// sigsuspend waits with SIGUSR1 unblocked until a child process sends it
// (after a delay); it returns -1/EINTR after the handler ran.
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t got;

static void on_usr1(int sig) { got++; }

int main(void) {
  signal(SIGUSR1, on_usr1);
  sigset_t block, old, wait_mask;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  sigprocmask(SIG_BLOCK, &block, &old);
  pid_t parent = getpid();
  for (int round = 0; round < 3; round++) {
    pid_t c = fork();
    if (c == 0) {
      struct timespec d = {0, 50 * 1000 * 1000};
      nanosleep(&d, NULL);
      kill(parent, SIGUSR1);
      _exit(0);
    }
    wait_mask = old;
    sigdelset(&wait_mask, SIGUSR1);
    int before = got;
    int r = sigsuspend(&wait_mask);
    int e = errno;
    printf("round %d: sigsuspend=%d errno=%s got %d->%d\n", round, r,
           e == EINTR ? "EINTR" : "other", before, got);
    waitpid(c, NULL, 0);
  }
  sigset_t cur;
  sigprocmask(SIG_BLOCK, NULL, &cur);
  printf("mask restored: usr1 blocked=%d\n", sigismember(&cur, SIGUSR1));
  printf("EXIT-SUCCESS\n");
  return 0;
}
