// clone(CLONE_VFORK | CLONE_PIDFD): the kernel stores a pidfd for the child
// in the parent's memory; the parent polls it and waits for the child.
// Replay must give the parent the same descriptor number.
#define _GNU_SOURCE
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x1000
#endif

static int child(void *arg) {
  (void)arg;
  _exit(42);
}

int main(void) {
  static char stack[1 << 16];
  int pidfd = -1;
  pid_t pid = clone(child, stack + sizeof stack, CLONE_VFORK | CLONE_PIDFD | SIGCHLD, NULL, &pidfd);
  if (pid < 0) {
    perror("clone");
    return 1;
  }
  printf("pidfd set: %s\n", pidfd >= 0 ? "yes" : "no");
  struct pollfd p = {.fd = pidfd, .events = POLLIN};
  int r = poll(&p, 1, 5000);
  printf("poll: %d, readable: %s\n", r, (p.revents & POLLIN) ? "yes" : "no");
  int status;
  if (waitpid(pid, &status, 0) != pid) return 1;
  printf("child exited with %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  close(pidfd);
  printf("EXIT-SUCCESS\n");
  return 0;
}
