// An orphan: a grandchild outlives its parent and is re-parented; first to
// whoever adopts orphans outside (init or a subreaper), then, with
// PR_SET_CHILD_SUBREAPER, to us, and we reap it.
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define YN(c) ((c) ? "yes" : "no")

static void orphan_once(int subreaper) {
  pid_t top = getpid();
  int done[2], ready[2];
  pipe(done);
  pipe(ready);
  pid_t mid = fork();
  if (mid == 0) {
    pid_t g = fork();
    if (g == 0) {
      close(done[0]);
      pid_t before = getppid();
      write(ready[1], "r", 1); // now the middle process may exit
      while (getppid() == before) usleep(1000); // until the middle one is gone
      pid_t after = getppid();
      printf("  grandchild: parent was the middle process, now %s; adopted by top: %s\n",
             after != before ? "changed" : "same", YN(after == top));
      _exit(33); // closes done[1]: the top process sees EOF
    }
    char c;
    read(ready[0], &c, 1);
    _exit(0);
  }
  close(done[1]);
  close(ready[0]);
  close(ready[1]);
  char c;
  while (read(done[0], &c, 1) > 0) {
  }
  close(done[0]);
  int st;
  waitpid(mid, &st, 0);
  printf("  middle exited %d\n", WEXITSTATUS(st));
  if (subreaper) {
    pid_t w = wait(&st);
    printf("  reaped the grandchild: %s, status %d\n", YN(w > 0), WEXITSTATUS(st));
  } else {
    printf("  not ours to reap: wait() fails: %s\n", YN(wait(&st) == -1));
  }
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  printf("without subreaper:\n");
  orphan_once(0);
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) { perror("prctl"); return 1; }
  printf("with PR_SET_CHILD_SUBREAPER:\n");
  orphan_once(1);
  printf("EXIT-SUCCESS\n");
  return 0;
}
