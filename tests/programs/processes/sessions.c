// Process groups and sessions: a child inherits its parent's group and
// session, setsid makes it the leader of both, a leader cannot setsid again
// or join a group of another session; setpgid/getpgid from the parent's
// side, and kill(-pgid) reaches a whole group.
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define YN(c) ((c) ? "yes" : "no")

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  pid_t mypg = getpgid(0), mysid = getsid(0);
  pid_t p = fork();
  if (p == 0) {
    pid_t self = getpid();
    printf("child: inherited group: %s, inherited session: %s\n", YN(getpgid(0) == mypg),
           YN(getsid(0) == mysid));
    pid_t s = setsid();
    printf("child: setsid() == own pid: %s\n", YN(s == self));
    printf("child: getsid(0) == own pid: %s, getpgid(0) == own pid: %s\n",
           YN(getsid(0) == self), YN(getpgid(0) == self));
    errno = 0;
    int r = setsid();
    printf("child: second setsid: %d %s\n", r, strerror(errno));
    errno = 0;
    r = setpgid(0, mypg);
    printf("child: setpgid into the old group: %d %s\n", r, strerror(errno));
    _exit(0);
  }
  int st;
  waitpid(p, &st, 0);
  printf("child exited %d\n", WEXITSTATUS(st));
  // Group a made by the parent, b moved into it.
  int gate[2];
  pipe(gate);
  pid_t a = fork();
  if (a == 0) { char c; read(gate[0], &c, 1); _exit(0); }
  int r = setpgid(a, a);
  printf("parent: setpgid(a, a): %d, getpgid(a) == a: %s\n", r, YN(getpgid(a) == a));
  pid_t b = fork();
  if (b == 0) { char c; read(gate[0], &c, 1); _exit(0); }
  r = setpgid(b, a);
  printf("parent: setpgid(b, a): %d, getpgid(b) == a: %s\n", r, YN(getpgid(b) == a));
  printf("parent: own group unchanged: %s, getsid(a) == own sid: %s\n",
         YN(getpgid(0) == mypg), YN(getsid(a) == mysid));
  kill(-a, SIGTERM); // the whole group
  waitpid(a, &st, 0);
  printf("a: %s\n", WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM ? "killed by SIGTERM" : "other");
  waitpid(b, &st, 0);
  printf("b: %s\n", WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM ? "killed by SIGTERM" : "other");
  errno = 0;
  r = setpgid(a, a);
  printf("parent: setpgid of a reaped child: %d %s\n", r, strerror(errno));
  printf("EXIT-SUCCESS\n");
  return 0;
}
