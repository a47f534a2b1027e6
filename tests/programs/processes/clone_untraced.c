// clone(CLONE_UNTRACED): the child asks not to be traced. Under reel it
// must still be recorded (its calls work, what it sends arrives) and the
// parent waits for it as usual.
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int fds[2];

static int child(void *arg) {
  char msg[64];
  int n = snprintf(msg, sizeof msg, "%s, parent %s", (char *)arg,
                   getppid() > 0 ? "known" : "unknown");
  return write(fds[1], msg, n) == n ? 7 : 1;
}

int main(void) {
  char *stack = malloc(1 << 16);
  if (pipe(fds)) return 1;
  pid_t pid = clone(child, stack + (1 << 16), CLONE_UNTRACED | SIGCHLD, "hello from the child");
  if (pid < 0) {
    perror("clone");
    return 1;
  }
  char buf[64] = {0};
  ssize_t n = read(fds[0], buf, sizeof buf - 1);
  printf("read %zd: %s\n", n, buf);
  int status;
  if (waitpid(pid, &status, 0) != pid) return 1;
  printf("child exited with %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  printf("EXIT-SUCCESS\n");
  return 0;
}
