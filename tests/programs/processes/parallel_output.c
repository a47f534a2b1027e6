// reel-test: varies
// Several processes and threads write lines to stdout at the same time,
// with no lock between them. Whatever order the terminal saw, the replay
// must print the same one.
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void lines(const char *who) {
  char buf[64];
  for (int i = 0; i < 100; i++) {
    int n = snprintf(buf, sizeof buf, "%s line %d\n", who, i);
    if (write(1, buf, n) != n) _exit(2);
  }
}

static void *thread_main(void *arg) {
  lines(arg);
  return NULL;
}

int main(void) {
  char names[3][16];
  pid_t kids[3];
  for (int k = 0; k < 3; k++) {
    snprintf(names[k], sizeof names[k], "child%d", k);
    kids[k] = fork();
    if (kids[k] == 0) {
      lines(names[k]);
      _exit(0);
    }
  }
  pthread_t t;
  pthread_create(&t, NULL, thread_main, "thread");
  lines("parent");
  pthread_join(t, NULL);
  for (int k = 0; k < 3; k++) {
    int status;
    waitpid(kids[k], &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return 1;
  }
  printf("EXIT-SUCCESS\n");
  return 0;
}
