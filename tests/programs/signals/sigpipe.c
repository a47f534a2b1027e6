// SIGPIPE when writing to a pipe whose read end is closed: with a handler
// (runs, write fails EPIPE), ignored (EPIPE only), and with the default
// action in a child process (death by SIGPIPE, seen by waitpid).
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t pipes;
static void on_pipe(int sig) { pipes++; }

static void attempt(const char *what) {
  int p[2];
  pipe(p);
  close(p[0]);
  errno = 0;
  ssize_t n = write(p[1], "data", 4);
  printf("%s: write=%zd errno=%s handler count=%d\n", what, n,
         errno == EPIPE ? "EPIPE" : "-", pipes);
  close(p[1]);
}

int main(void) {
  signal(SIGPIPE, on_pipe);
  attempt("handler");
  attempt("handler again");
  signal(SIGPIPE, SIG_IGN);
  attempt("ignored");
  signal(SIGPIPE, SIG_DFL);
  fflush(stdout);
  pid_t c = fork();
  if (c == 0) {
    attempt("child, default");
    _exit(0);
  }
  int st;
  waitpid(c, &st, 0);
  printf("child killed by SIGPIPE: %d\n", WIFSIGNALED(st) && WTERMSIG(st) == SIGPIPE);
  printf("EXIT-SUCCESS\n");
  return 0;
}
