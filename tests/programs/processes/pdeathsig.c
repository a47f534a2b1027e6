// prctl(PR_SET_PDEATHSIG): a grandchild asks for SIGUSR1 when its parent
// dies; the middle process exits and the grandchild gets the signal.
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t got;
static void on_usr1(int s) { got = s; }

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  int ready[2], done[2];
  pipe(ready);
  pipe(done);
  pid_t mid = fork();
  if (mid == 0) {
    pid_t parent = getpid();
    pid_t g = fork();
    if (g == 0) {
      close(done[0]);
      sigset_t block, old;
      sigemptyset(&block);
      sigaddset(&block, SIGUSR1);
      sigprocmask(SIG_BLOCK, &block, &old);
      signal(SIGUSR1, on_usr1);
      prctl(PR_SET_PDEATHSIG, SIGUSR1);
      int sig = 0;
      prctl(PR_GET_PDEATHSIG, &sig);
      printf("grandchild: PR_GET_PDEATHSIG = %s\n", sig == SIGUSR1 ? "SIGUSR1" : "other");
      if (getppid() != parent) { printf("parent died too early\n"); _exit(1); }
      write(ready[1], "r", 1);
      while (!got) sigsuspend(&old);
      printf("grandchild: got %s after its parent died; parent changed: %s\n",
             got == SIGUSR1 ? "SIGUSR1" : "other", getppid() != parent ? "yes" : "no");
      _exit(0);
    }
    char c;
    read(ready[0], &c, 1);
    printf("middle: grandchild is ready, exiting\n");
    _exit(4);
  }
  close(done[1]);
  char c;
  while (read(done[0], &c, 1) > 0) {
  }
  printf("top: grandchild finished\n");
  int st;
  waitpid(mid, &st, 0);
  printf("top: middle exited %d\n", WEXITSTATUS(st));
  printf("EXIT-SUCCESS\n");
  return 0;
}
