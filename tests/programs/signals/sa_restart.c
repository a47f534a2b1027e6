// A read on an empty pipe interrupted by SIGALRM (setitimer, 50 ms); a child
// process writes to the pipe 300 ms later. With SA_RESTART the read is
// restarted and returns the data; without it, read fails with EINTR.
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t alarms;
static void on_alrm(int sig) { alarms++; }

static void trial(int flags, const char *name) {
  int p[2];
  pipe(p);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alrm;
  sa.sa_flags = flags;
  sigaction(SIGALRM, &sa, NULL);
  pid_t c = fork();
  if (c == 0) {
    close(p[0]);
    usleep(300000);
    write(p[1], "x", 1);
    _exit(0);
  }
  close(p[1]);
  struct itimerval it = {{0, 0}, {0, 50000}};
  alarms = 0;
  setitimer(ITIMER_REAL, &it, NULL);
  char buf[8];
  ssize_t n = read(p[0], buf, sizeof buf);
  int e = errno;
  printf("%s: read=%zd errno=%s alarms=%d\n", name, n, n < 0 && e == EINTR ? "EINTR" : "-", alarms);
  if (n < 0) {
    n = read(p[0], buf, sizeof buf);
    printf("%s: read again=%zd\n", name, n);
  }
  waitpid(c, NULL, 0);
  close(p[0]);
}

int main(void) {
  trial(SA_RESTART, "SA_RESTART");
  trial(0, "no SA_RESTART");
  printf("EXIT-SUCCESS\n");
  return 0;
}
