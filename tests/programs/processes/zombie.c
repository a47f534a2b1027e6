// Zombies: children that have exited stay visible (state Z in /proc, kill(pid, 0)
// succeeds) until reaped; waitid(WNOWAIT) peeks without reaping.
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char state_of(pid_t p) {
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)p);
  FILE *f = fopen(path, "r");
  if (!f) return '?';
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *rp = strrchr(buf, ')');
  return rp && rp[1] == ' ' ? rp[2] : '?';
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  pid_t kids[3];
  for (int i = 0; i < 3; i++) {
    kids[i] = fork();
    if (kids[i] == 0) _exit(i + 1);
  }
  // Wait until each has exited, without reaping it.
  for (int i = 0; i < 3; i++) {
    siginfo_t si;
    memset(&si, 0, sizeof si);
    int r = waitid(P_PID, kids[i], &si, WEXITED | WNOWAIT);
    printf("child %d: waitid WNOWAIT %d, status %d\n", i, r, si.si_status);
  }
  for (int i = 0; i < 3; i++)
    printf("child %d: state %c, kill(pid, 0) = %d\n", i, state_of(kids[i]), kill(kids[i], 0));
  // Reap them in reverse order, later.
  usleep(20000);
  for (int i = 2; i >= 0; i--) {
    int st;
    pid_t w = waitpid(kids[i], &st, WNOHANG);
    printf("child %d: reaped %s, status %d\n", i, w == kids[i] ? "yes" : "no", WEXITSTATUS(st));
    errno = 0;
    int r = kill(kids[i], 0);
    const char *e = strerror(errno);
    printf("child %d: after reaping kill(pid, 0) = %d %s, /proc entry %s\n", i, r, e,
           state_of(kids[i]) == '?' ? "gone" : "still there");
  }
  printf("EXIT-SUCCESS\n");
  return 0;
}
