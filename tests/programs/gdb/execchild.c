// The parent forks a child that execs this program again: the child
// calls work(1), then the parent, after waiting for it, work(2). gdb
// tests start at the child's exec with `-p` and find themselves in it.
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static long result;

__attribute__((noinline)) long work(long id) {
  result = id * 100 + 7;
  return result;
}

int main(int argc, char **argv) {
  if (argc > 1) {
    work(1);
    return 0;
  }
  pid_t pid = fork();
  if (pid == 0) {
    execl("/proc/self/exe", argv[0], "child", (char *)0);
    _exit(127);
  }
  int status;
  waitpid(pid, &status, 0);
  work(2);
  printf("child %d, result %ld\n", WEXITSTATUS(status), result);
  printf("EXIT-SUCCESS\n");
  return 0;
}
