// Output through duplicated descriptors: dup2 of stdout to fd 10, dup,
// F_DUPFD_CLOEXEC, writing after stdout itself is closed, stderr via fd 11.
// reel must still recognise these writes as going to its stdout/stderr.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void say(int fd, const char *s) {
  if (write(fd, s, strlen(s)) != (ssize_t)strlen(s)) _exit(1);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (dup2(1, 10) != 10) return 1;
  say(10, "via fd 10 (dup2 of stdout)\n");
  int d = dup(1);
  say(d, "via dup of stdout\n");
  int e = fcntl(1, F_DUPFD_CLOEXEC, 20);
  if (e < 20) return 1;
  say(e, "via F_DUPFD_CLOEXEC\n");
  if (dup2(2, 11) != 11) return 1;
  say(11, "via fd 11 (dup2 of stderr)\n");
  close(1);
  say(10, "fd 10 after closing fd 1\n");
  // Swap: make fd 1 point to stderr for a moment.
  dup2(2, 1);
  say(1, "fd 1 now writes to stderr\n");
  dup2(10, 1);
  say(1, "fd 1 restored to stdout\n");
  close(10);
  close(11);
  close(d);
  close(e);
  printf("EXIT-SUCCESS\n");
  return 0;
}
