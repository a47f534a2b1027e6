// File descriptors across fork and exec: a plain fd, an O_CLOEXEC fd, a
// pipe2(O_CLOEXEC) end, an F_DUPFD_CLOEXEC copy and one whose flag was
// cleared. fork keeps all of them (with their flags); exec closes the
// close-on-exec ones. The program re-executes itself to look.
// reel-test: args=@tmpfile
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

enum { PLAIN = 10, CLOEXEC, PIPE_R, DUPCX, CLEARED, COUNT, PIPE_W = 20 };
static const char *names[] = {"plain", "O_CLOEXEC", "pipe2 read end", "F_DUPFD_CLOEXEC",
                              "cleared flag"};

static void show(const char *who) {
  for (int fd = PLAIN; fd < COUNT; fd++) {
    int f = fcntl(fd, F_GETFD);
    printf("%s: fd %d (%s): %s\n", who, fd, names[fd - PLAIN],
           f < 0 ? strerror(errno) : (f & FD_CLOEXEC) ? "open, close-on-exec" : "open");
  }
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc > 2 && strcmp(argv[2], "after-exec") == 0) {
    show("after exec");
    char buf[16] = {0};
    ssize_t n = pread(PLAIN, buf, 5, 0); // the inherited file still reads
    printf("after exec: pread of the plain fd: %zd \"%s\"\n", n, buf);
    n = write(PIPE_W, "through the pipe", 16);
    printf("after exec: wrote to the inherited pipe write end: %zd\n", n);
    return 0;
  }
  int p[2], t;
  t = open(argv[1], O_RDONLY); dup2(t, PLAIN); close(t);
  t = open(argv[1], O_RDONLY); dup3(t, CLOEXEC, O_CLOEXEC); close(t);
  if (pipe2(p, O_CLOEXEC)) return 1;
  dup3(p[0], PIPE_R, O_CLOEXEC);
  dup2(p[1], PIPE_W); // dup2 clears the flag: the write end survives exec
  close(p[0]); close(p[1]);
  if (fcntl(PLAIN, F_DUPFD_CLOEXEC, DUPCX) != DUPCX) return 1;
  t = open(argv[1], O_RDONLY | O_CLOEXEC); dup3(t, CLEARED, O_CLOEXEC); close(t);
  fcntl(CLEARED, F_SETFD, 0);
  show("parent");
  pid_t c = fork();
  if (c == 0) {
    show("child after fork");
    execl("/proc/self/exe", argv[0], argv[1], "after-exec", (char *)NULL);
    _exit(127);
  }
  int st;
  waitpid(c, &st, 0);
  printf("child exited %d\n", WEXITSTATUS(st));
  char buf[32] = {0};
  ssize_t n = read(PIPE_R, buf, sizeof buf - 1);
  printf("parent read from the pipe: %zd \"%s\"\n", n, buf);
  printf("EXIT-SUCCESS\n");
  return 0;
}
