/* Used by tests/silent.rs: a debugger-like parent tries to trace its child
 * (PTRACE_ATTACH, PTRACE_SEIZE) and the child tries PTRACE_TRACEME, as
 * under a tracer already; each prints the errno it got, then the child is
 * released through a pipe and the parent reaps it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *err(long r) { return r == 0 ? "ok" : strerror(errno); }

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  int go[2], ready[2];
  if (pipe(go) || pipe(ready)) return 2;
  pid_t child = fork();
  if (child == 0) {
    close(go[1]);
    errno = 0;
    printf("child: PTRACE_TRACEME: %s\n", err(ptrace(PTRACE_TRACEME, 0, 0, 0)));
    write(ready[1], "r", 1);
    char c;
    read(go[0], &c, 1); // until the parent is done trying
    _exit(7);
  }
  close(go[0]);
  char c;
  read(ready[0], &c, 1);
  errno = 0;
  printf("parent: PTRACE_ATTACH: %s\n", err(ptrace(PTRACE_ATTACH, child, 0, 0)));
  errno = 0;
  printf("parent: PTRACE_SEIZE: %s\n", err(ptrace(PTRACE_SEIZE, child, 0, 0)));
  close(go[1]);
  int status;
  waitpid(child, &status, 0);
  printf("parent: child exited %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  return 0;
}
