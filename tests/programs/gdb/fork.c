// A child process calls work(1), then its parent, after waiting for it,
// calls work(2): gdb tests go back from the parent's hit to the child's.
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static long result;

__attribute__((noinline)) long work(long id) {
  result = id * 100 + 7;
  return result;
}

int main(void) {
  pid_t pid = fork();
  if (pid == 0) {
    work(1);
    _exit(0);
  }
  int status;
  waitpid(pid, &status, 0);
  work(2);
  printf("child %d, result %ld\n", WEXITSTATUS(status), result);
  printf("EXIT-SUCCESS\n");
  return 0;
}
