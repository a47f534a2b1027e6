// ppoll, pselect6 and epoll_pwait wait with a temporary signal mask that
// unblocks SIGUSR1, which is blocked otherwise; a child sends SIGUSR1,
// before the wait (pending until the mask lets it in) and, a second time,
// while the parent waits (the child watches /proc/PPID/syscall for the
// call). Each wait returns EINTR after the handler ran, and the blocked
// mask is back afterwards.
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t handled;
static void on_usr1(int sig) { (void)sig; handled++; }

static void send_from_child(void) {
  pid_t c = fork();
  if (c == 0) {
    kill(getppid(), SIGUSR1);
    _exit(0);
  }
  int st;
  waitpid(c, &st, 0); // the signal is pending (blocked) once the child is gone
}

// A child that sends SIGUSR1 once the parent is blocked in syscall `nr`.
static pid_t send_during(long nr) {
  pid_t parent = getpid();
  pid_t c = fork();
  if (c == 0) {
    char path[64], buf[64];
    snprintf(path, sizeof path, "/proc/%d/syscall", parent);
    for (;;) {
      FILE *f = fopen(path, "r");
      long now = -2;
      if (f) {
        if (fgets(buf, sizeof buf, f)) sscanf(buf, "%ld", &now);
        fclose(f);
      }
      if (now == nr) break;
      sched_yield();
    }
    kill(parent, SIGUSR1);
    _exit(0);
  }
  return c;
}

static void reap(pid_t c) {
  int st;
  waitpid(c, &st, 0);
}

static void report(const char *what, int r, int e) {
  sigset_t now;
  sigprocmask(SIG_BLOCK, NULL, &now);
  printf("%s = %d (%s), handler ran %d time(s), SIGUSR1 %s after\n", what, r,
         e == EINTR ? "EINTR" : "other", (int)handled,
         sigismember(&now, SIGUSR1) ? "blocked" : "unblocked");
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  signal(SIGUSR1, on_usr1);
  sigset_t block, empty;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  sigemptyset(&empty);
  sigprocmask(SIG_BLOCK, &block, NULL);
  int p[2];
  if (pipe(p)) return 2; // never written: the waits only end by the signal

  send_from_child();
  struct pollfd pfd = {p[0], POLLIN, 0};
  int r = ppoll(&pfd, 1, NULL, &empty);
  report("ppoll", r, errno);

  send_from_child();
  fd_set rd;
  FD_ZERO(&rd);
  FD_SET(p[0], &rd);
  r = pselect(p[0] + 1, &rd, NULL, NULL, NULL, &empty);
  report("pselect", r, errno);

  send_from_child();
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = p[0]};
  epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
  struct epoll_event out;
  r = epoll_pwait(ep, &out, 1, -1, &empty);
  report("epoll_pwait", r, errno);

  pid_t c = send_during(SYS_ppoll);
  r = ppoll(&pfd, 1, NULL, &empty);
  report("ppoll, signal during the wait", r, errno);
  reap(c);
  c = send_during(SYS_pselect6);
  FD_ZERO(&rd);
  FD_SET(p[0], &rd);
  r = pselect(p[0] + 1, &rd, NULL, NULL, NULL, &empty);
  report("pselect, signal during the wait", r, errno);
  reap(c);
  c = send_during(SYS_epoll_pwait);
  r = epoll_pwait(ep, &out, 1, -1, &empty);
  report("epoll_pwait, signal during the wait", r, errno);
  reap(c);

  // Unblocked for good, nothing pending: the count stays.
  sigprocmask(SIG_UNBLOCK, &block, NULL);
  printf("handled %d in all\n", (int)handled);
  printf("EXIT-SUCCESS\n");
  return 0;
}
