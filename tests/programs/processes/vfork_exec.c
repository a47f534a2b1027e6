// reel-test: checksum
// vfork: the child borrows the parent's memory until it execs or _exits.
// The parent resumes only then; exec of /bin/echo and of the program itself.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc > 1) {
    printf("re-executed with argument %s\n", argv[1]);
    return 17;
  }
  volatile int shared = 0;
  int st;
  pid_t p = vfork();
  if (p == 0) {
    shared = 1234; // visible to the parent: same memory
    _exit(3);
  }
  waitpid(p, &st, 0);
  printf("vfork+_exit: status %d, parent sees shared=%d\n", WEXITSTATUS(st), shared);

  p = vfork();
  if (p == 0) {
    char *args[] = {"echo", "hello from echo after vfork", NULL};
    execv("/bin/echo", args);
    _exit(127);
  }
  // The parent runs again once the child has exec'd, alongside echo: it
  // prints only after echo is done, so that the output has one order.
  waitpid(p, &st, 0);
  printf("parent resumed after the child's exec; echo exited %d\n", WEXITSTATUS(st));

  p = vfork();
  if (p == 0) {
    char *args[] = {argv[0], "again", NULL};
    execv("/proc/self/exe", args);
    _exit(127);
  }
  waitpid(p, &st, 0);
  printf("self: exited %d\n", WEXITSTATUS(st));

  p = vfork();
  if (p == 0) {
    char *args[] = {"nope", NULL};
    execv("/nonexistent/program", args);
    _exit(126); // exec failed: the child still runs on the parent's memory
  }
  waitpid(p, &st, 0);
  printf("failed exec: exited %d\n", WEXITSTATUS(st));
  printf("EXIT-SUCCESS\n");
  return 0;
}
