// Bursts of in-process calls before a fork, in the child, after an exec of
// this program (argv[1] = "child"), and in the parent meanwhile.
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static unsigned long burst(int n) {
  unsigned long s = 0;
  for (int i = 0; i < n; i++) {
    struct timespec ts;
    struct stat st;
    s += getppid() > 0;
    s += clock_gettime(CLOCK_REALTIME, &ts) == 0;
    s += stat("/", &st) == 0;
    s += getpid() > 0;
  }
  return s;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "child") == 0) {
    printf("exec'd child: %lu\n", burst(300));
    return 0;
  }
  unsigned long before = burst(300);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    unsigned long mine = burst(300);
    printf("forked child: %lu\n", mine);
    fflush(stdout);
    execl("/proc/self/exe", argv[0], "child", (char *)0);
    perror("execl");
    _exit(1);
  }
  unsigned long during = burst(300);
  int status = 0;
  waitpid(pid, &status, 0);
  unsigned long after = burst(300);
  printf("parent: %lu %lu %lu, child status %d\n", before, during, after, WEXITSTATUS(status));
  printf("EXIT-SUCCESS\n");
  return 0;
}
