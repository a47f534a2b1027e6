// The main thread execs while another thread is blocked in read(): the
// kernel ends that thread; the exec'd program runs alone.
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static int fds[2];

static void *blocked(void *arg) {
  (void)arg;
  char c;
  read(fds[0], &c, 1); // never returns: nobody writes
  return NULL;
}

int main(int argc, char **argv) {
  if (argc > 1) {
    printf("exec'd program runs: %s\n", argv[1]);
    printf("EXIT-SUCCESS\n");
    return 0;
  }
  pipe(fds);
  pthread_t t;
  pthread_create(&t, NULL, blocked, NULL);
  usleep(20000);
  printf("main thread execs\n");
  fflush(stdout);
  char *args[] = {argv[0], "again", NULL};
  execv("/proc/self/exe", args);
  perror("execv");
  return 1;
}
