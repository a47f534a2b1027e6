// execve resets caught signals to their default action: a child that
// inherits a SIGTERM handler and execs sleep(1) is killed by SIGTERM (this
// is what timeout(1) relies on).
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_term(int sig) {}

int main(void) {
  signal(SIGTERM, on_term);
  pid_t c = fork();
  if (c == 0) {
    execlp("sleep", "sleep", "5", (char *)NULL);
    _exit(127);
  }
  usleep(300000);
  kill(c, SIGTERM);
  int st;
  waitpid(c, &st, 0);
  printf("child killed by SIGTERM: %d\n", WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
  printf("EXIT-SUCCESS\n");
  return 0;
}
