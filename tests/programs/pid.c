// reel-test: native-differs
// Process identity: getpid, getppid, gettid (the pid changes every run).
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
  pid_t pid = getpid();
  pid_t ppid = getppid();
  pid_t tid = (pid_t)syscall(SYS_gettid);
  printf("pid: %d\n", (int)pid);
  printf("ppid: %d\n", (int)ppid);
  printf("tid: %d\n", (int)tid);
  printf("tid == pid: %s\n", tid == pid ? "yes" : "no");
  // Asking again gives the same answers.
  if (getpid() != pid || (pid_t)syscall(SYS_gettid) != tid) {
    printf("pid changed\n");
    return 1;
  }
  printf("pgid == pid: %s\n", getpgid(0) == pid ? "yes" : "no");
  printf("EXIT-SUCCESS\n");
  return 0;
}
