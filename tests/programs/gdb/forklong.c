// A child process makes 300 syscalls, then calls work(1); its parent,
// after waiting for it, makes 300 more and calls work(2): enough events
// for reel to checkpoint both processes while the child runs, so that
// going back from the parent's call to the child's starts from one.
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
    for (int i = 0; i < 300; i++) getppid();
    work(1);
    _exit(0);
  }
  int status;
  waitpid(pid, &status, 0);
  for (int i = 0; i < 300; i++) getppid();
  work(2);
  printf("child %d, result %ld\n", WEXITSTATUS(status), result);
  printf("EXIT-SUCCESS\n");
  return 0;
}
