// wait4 with a struct rusage, waitid with siginfo (CLD_EXITED, CLD_KILLED),
// WNOHANG with nothing ready, and waitid(P_ALL).
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  pid_t p = fork();
  if (p == 0) {
    volatile unsigned long x = 0;
    for (unsigned long i = 0; i < 20000000; i++) x += i;
    _exit(5);
  }
  struct rusage ru;
  memset(&ru, 0xff, sizeof ru);
  int st;
  pid_t w = wait4(p, &st, 0, &ru);
  printf("wait4: right pid %s, exited %d, maxrss > 0 %s, utime sane %s\n",
         w == p ? "yes" : "no", WEXITSTATUS(st), ru.ru_maxrss > 0 ? "yes" : "no",
         ru.ru_utime.tv_sec >= 0 && ru.ru_utime.tv_usec < 1000000 ? "yes" : "no");

  int gate[2];
  pipe(gate);
  p = fork();
  if (p == 0) { char c; read(gate[0], &c, 1); _exit(7); }
  siginfo_t si;
  memset(&si, 0, sizeof si);
  int r = waitid(P_PID, p, &si, WEXITED | WNOHANG);
  printf("waitid WNOHANG before exit: %d, si_pid %s\n", r, si.si_pid == 0 ? "0" : "set");
  write(gate[1], "x", 1);
  memset(&si, 0, sizeof si);
  r = waitid(P_PID, p, &si, WEXITED);
  printf("waitid: %d, si_pid right %s, si_signo SIGCHLD %s, si_code %s, si_status %d\n", r,
         si.si_pid == p ? "yes" : "no", si.si_signo == SIGCHLD ? "yes" : "no",
         si.si_code == CLD_EXITED ? "CLD_EXITED" : "other", si.si_status);

  p = fork();
  if (p == 0) { for (;;) pause(); }
  kill(p, SIGUSR1);
  memset(&si, 0, sizeof si);
  r = waitid(P_ALL, 0, &si, WEXITED);
  printf("waitid P_ALL: %d, si_pid right %s, si_code %s, si_status %s\n", r,
         si.si_pid == p ? "yes" : "no", si.si_code == CLD_KILLED ? "CLD_KILLED" : "other",
         si.si_status == SIGUSR1 ? "SIGUSR1" : "other");
  errno = 0;
  r = waitid(P_ALL, 0, &si, WEXITED);
  printf("waitid with no children: %d %s\n", r, strerror(errno));
  errno = 0;
  w = wait4(-1, &st, WNOHANG, &ru);
  printf("wait4 WNOHANG with no children: %d %s\n", w, strerror(errno));
  printf("EXIT-SUCCESS\n");
  return 0;
}
