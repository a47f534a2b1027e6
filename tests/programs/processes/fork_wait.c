// reel-test: checksum
// fork + waitpid: exit statuses, a child killed by a signal, one that dumps
// core-less SIGABRT, and waitpid on a pid that is not a child (ECHILD).
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void report(const char *what, int st) {
  if (WIFEXITED(st))
    printf("%s: exited %d\n", what, WEXITSTATUS(st));
  else if (WIFSIGNALED(st))
    printf("%s: killed by signal %d (%s)\n", what, WTERMSIG(st), strsignal(WTERMSIG(st)));
  else
    printf("%s: other status 0x%x\n", what, st);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  int codes[] = {0, 1, 42, 255};
  for (int i = 0; i < 4; i++) {
    pid_t p = fork();
    if (p < 0) { perror("fork"); return 1; }
    if (p == 0) _exit(codes[i]);
    int st;
    if (waitpid(p, &st, 0) != p) { perror("waitpid"); return 1; }
    char what[32];
    snprintf(what, sizeof what, "child _exit(%d)", codes[i]);
    report(what, st);
  }
  // A child that waits to be killed.
  pid_t p = fork();
  if (p == 0) { for (;;) pause(); }
  kill(p, SIGTERM);
  int st;
  waitpid(p, &st, 0);
  report("child sent SIGTERM", st);
  // A child that kills itself.
  p = fork();
  if (p == 0) { signal(SIGABRT, SIG_DFL); raise(SIGKILL); _exit(99); }
  waitpid(p, &st, 0);
  report("child raise(SIGKILL)", st);
  // A child that crashes.
  p = fork();
  if (p == 0) { volatile int *np = NULL; *np = 1; _exit(98); }
  waitpid(p, &st, 0);
  report("child NULL write", st);
  // exit() in the child flushes its own stdio, not the parent's.
  p = fork();
  if (p == 0) { printf("child says hello\n"); exit(7); }
  waitpid(p, &st, 0);
  report("child exit(7)", st);
  errno = 0;
  int r = waitpid(getpid(), &st, 0);
  printf("waitpid(self): %d %s\n", r, strerror(errno));
  r = wait(&st);
  printf("wait with no children: %d %s\n", r, strerror(errno));
  printf("EXIT-SUCCESS\n");
  return 0;
}
