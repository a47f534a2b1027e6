// Terminal queries on stdin, stdout and stderr: isatty, tcgetattr, ioctl
// TIOCGWINSZ, ttyname. Under the test harness they are pipes or /dev/null, so
// every query reports "not a tty"; the pty test runs it on a terminal.
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

static void query(int fd) {
  printf("fd %d: isatty %d", fd, isatty(fd));
  struct termios t;
  if (tcgetattr(fd, &t) == 0)
    printf(", tcgetattr ok (ICANON %d, ECHO %d)", !!(t.c_lflag & ICANON),
           !!(t.c_lflag & ECHO));
  else
    printf(", tcgetattr: %s", strerror(errno));
  struct winsize ws;
  memset(&ws, 0, sizeof ws);
  if (ioctl(fd, TIOCGWINSZ, &ws) == 0)
    printf(", winsize %ux%u", ws.ws_col, ws.ws_row);
  else
    printf(", TIOCGWINSZ: %s", strerror(errno));
  pid_t pgrp = tcgetpgrp(fd);
  printf(", foreground group %s", pgrp < 0 ? strerror(errno) : "known");
  printf("\n");
}

int main(void) {
  for (int fd = 0; fd <= 2; fd++) query(fd);
  printf("EXIT-SUCCESS\n");
  return 0;
}
