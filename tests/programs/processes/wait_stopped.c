// A child stopped with SIGSTOP and continued with SIGCONT: waitpid with
// WUNTRACED/WCONTINUED and waitid with WSTOPPED/WCONTINUED see both.
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  int gate[2];
  pipe(gate);
  pid_t p = fork();
  if (p == 0) {
    char c;
    read(gate[0], &c, 1);
    _exit(9);
  }
  int st;
  kill(p, SIGSTOP);
  pid_t w = waitpid(p, &st, WUNTRACED);
  printf("waitpid WUNTRACED: right pid %s, stopped %s, by %s\n", w == p ? "yes" : "no",
         WIFSTOPPED(st) ? "yes" : "no", WSTOPSIG(st) == SIGSTOP ? "SIGSTOP" : "other");
  kill(p, SIGCONT);
  w = waitpid(p, &st, WCONTINUED);
  printf("waitpid WCONTINUED: continued %s\n", WIFCONTINUED(st) ? "yes" : "no");

  kill(p, SIGSTOP);
  siginfo_t si;
  memset(&si, 0, sizeof si);
  int r = waitid(P_PID, p, &si, WSTOPPED);
  printf("waitid WSTOPPED: %d, si_code %s, si_status %s\n", r,
         si.si_code == CLD_STOPPED ? "CLD_STOPPED" : "other",
         si.si_status == SIGSTOP ? "SIGSTOP" : "other");
  kill(p, SIGCONT);
  memset(&si, 0, sizeof si);
  r = waitid(P_PID, p, &si, WCONTINUED);
  printf("waitid WCONTINUED: %d, si_code %s\n", r,
         si.si_code == CLD_CONTINUED ? "CLD_CONTINUED" : "other");
  write(gate[1], "x", 1);
  waitpid(p, &st, 0);
  printf("finally exited %d\n", WEXITSTATUS(st));
  printf("EXIT-SUCCESS\n");
  return 0;
}
