// tgkill() to the calling thread, and tkill: handlers run before return.
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static volatile sig_atomic_t count;
static volatile int code;
static volatile pid_t from;

static void on_usr2(int sig, siginfo_t *si, void *uc) {
  count++;
  code = si->si_code;
  from = si->si_pid;
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_usr2;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGUSR2, &sa, NULL);
  syscall(SYS_tgkill, getpid(), gettid(), SIGUSR2);
  printf("after tgkill: count=%d si_code=%s si_pid==getpid:%d\n", count,
         code == SI_TKILL ? "SI_TKILL" : "other", from == getpid());
  syscall(SYS_tkill, gettid(), SIGUSR2);
  printf("after tkill: count=%d\n", count);
  printf("EXIT-SUCCESS\n");
  return 0;
}
