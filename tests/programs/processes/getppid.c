// reel-test: native-differs
// getppid in a child and a grandchild equals the parent's getpid; the pids
// themselves are printed, so two native runs differ and replay must show
// the recorded ones.
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  pid_t me = getpid();
  printf("parent pid %d\n", (int)me);
  pid_t p = fork();
  if (p == 0) {
    pid_t child = getpid();
    printf("child pid %d, getppid %d, equals parent: %s\n", (int)child, (int)getppid(),
           getppid() == me ? "yes" : "no");
    pid_t g = fork();
    if (g == 0) {
      printf("grandchild getppid equals child: %s\n", getppid() == child ? "yes" : "no");
      _exit(0);
    }
    int st;
    pid_t w = waitpid(g, &st, 0);
    printf("child: waitpid returned the grandchild's pid %d: %s\n", (int)g,
           w == g ? "yes" : "no");
    _exit(0);
  }
  int st;
  pid_t w = waitpid(p, &st, 0);
  printf("fork returned %d, waitpid returned %d, same: %s\n", (int)p, (int)w,
         p == w ? "yes" : "no");
  printf("EXIT-SUCCESS\n");
  return 0;
}
