// Five children, each exiting only when the parent releases it; the parent
// releases them in the order 3 0 4 1 2 and wait() must return them in that
// order; then five more are reaped by waitpid(pid) in reverse creation order
// after all have exited.
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define N 5

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  pid_t pids[N];
  int gates[N][2];
  for (int i = 0; i < N; i++) {
    pipe(gates[i]);
    pids[i] = fork();
    if (pids[i] == 0) {
      char c;
      close(gates[i][1]);
      read(gates[i][0], &c, 1);
      _exit(10 + i);
    }
    close(gates[i][0]);
  }
  int order[N] = {3, 0, 4, 1, 2};
  for (int k = 0; k < N; k++) {
    write(gates[order[k]][1], "x", 1);
    int st;
    pid_t w = wait(&st);
    int idx = -1;
    for (int i = 0; i < N; i++)
      if (pids[i] == w) idx = i;
    printf("released child %d, wait() returned child %d, status %d\n", order[k], idx,
           WEXITSTATUS(st));
  }
  // All exit at once (zombies), reaped in reverse.
  for (int i = 0; i < N; i++) {
    pids[i] = fork();
    if (pids[i] == 0) _exit(20 + i);
  }
  for (int i = N - 1; i >= 0; i--) {
    int st;
    pid_t w = waitpid(pids[i], &st, 0);
    printf("waitpid(child %d): %s, status %d\n", i, w == pids[i] ? "ok" : "wrong pid",
           WEXITSTATUS(st));
  }
  printf("no more children: %s\n", wait(NULL) == -1 ? "yes" : "no");
  printf("EXIT-SUCCESS\n");
  return 0;
}
