// reel-test: exit=3
// The main thread ends with the bare exit syscall (not exit_group) while a
// second thread lives on; that thread waits until the leader is a zombie,
// goes on making syscalls, then ends the process with status 3.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static pid_t leader;

// The state letter of the leader thread, from /proc/self/task/PID/stat.
static char leader_state(void) {
  char path[64], buf[256];
  snprintf(path, sizeof path, "/proc/self/task/%d/stat", leader);
  FILE *f = fopen(path, "r");
  if (!f) return '?';
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *p = strrchr(buf, ')');
  return p && p[1] == ' ' ? p[2] : '?';
}

static void *survivor(void *arg) {
  (void)arg;
  while (leader_state() != 'Z') sched_yield();
  printf("leader is a zombie\n");
  printf("pid still %s\n", getpid() == leader ? "the leader's" : "different");
  for (int i = 0; i < 3; i++) printf("survivor step %d\n", i);
  fflush(stdout);
  exit(3);
}

int main(void) {
  leader = getpid();
  setvbuf(stdout, NULL, _IONBF, 0);
  pthread_t t;
  pthread_create(&t, NULL, survivor, NULL);
  printf("main thread exits alone\n");
  syscall(SYS_exit, 0);
  return 1;
}
