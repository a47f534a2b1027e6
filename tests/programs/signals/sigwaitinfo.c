// sigwaitinfo/sigtimedwait on blocked signals sent by a child process with
// sigqueue values, plus a sigtimedwait that times out (EAGAIN).
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(void) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  sigaddset(&set, SIGRTMIN);
  sigprocmask(SIG_BLOCK, &set, NULL);
  pid_t parent = getpid();
  struct timespec shortwait = {0, 30 * 1000 * 1000};
  siginfo_t si;
  int r = sigtimedwait(&set, &si, &shortwait);
  printf("nothing sent: sigtimedwait=%d errno=%s\n", r, errno == EAGAIN ? "EAGAIN" : "other");
  pid_t c = fork();
  if (c == 0) {
    struct timespec d = {0, 40 * 1000 * 1000};
    nanosleep(&d, NULL);
    union sigval v = {.sival_int = 1234};
    sigqueue(parent, SIGUSR1, v);
    v.sival_int = 5678;
    sigqueue(parent, SIGRTMIN, v);
    _exit(0);
  }
  r = sigwaitinfo(&set, &si);
  printf("sigwaitinfo: %s si_code=%s si_pid==child:%d value=%d\n",
         r == SIGUSR1 ? "SIGUSR1" : r == SIGRTMIN ? "SIGRTMIN" : "other",
         si.si_code == SI_QUEUE ? "SI_QUEUE" : "other", si.si_pid == c, si.si_value.sival_int);
  struct timespec longwait = {5, 0};
  r = sigtimedwait(&set, &si, &longwait);
  printf("sigtimedwait: %s value=%d\n",
         r == SIGUSR1 ? "SIGUSR1" : r == SIGRTMIN ? "SIGRTMIN" : "other", si.si_value.sival_int);
  waitpid(c, NULL, 0);
  printf("EXIT-SUCCESS\n");
  return 0;
}
