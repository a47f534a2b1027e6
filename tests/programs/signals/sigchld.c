// reel-test: varies
// A SIGCHLD handler counts notifications while five children exit; all are
// reaped. Standard signals coalesce, so the handler count (printed) may be
// below five natively, but replay must match the recording.
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t notes;
static void on_chld(int sig) { notes++; }

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_chld;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGCHLD, &sa, NULL);
  for (int i = 0; i < 5; i++) {
    pid_t c = fork();
    if (c == 0) { usleep(20000 * (i + 1)); _exit(i); }
  }
  int reaped = 0, sum = 0, st;
  pid_t w;
  while ((w = wait(&st)) > 0 || (w < 0 && errno == EINTR)) {
    if (w > 0) { reaped++; sum += WEXITSTATUS(st); }
  }
  printf("reaped=%d status sum=%d handler ran at least once: %d\n", reaped, sum, notes >= 1);
  printf("handler count %d\n", notes);
  printf("EXIT-SUCCESS\n");
  return 0;
}
