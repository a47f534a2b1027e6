// A second thread calls execve while the main thread waits in
// pthread_join: the kernel kills the main thread and gives the exec'ing
// thread the process id. The new image (this program again, with an
// argument) checks that it runs as the process leader, alone.
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static char self[4096];

static int count_threads(void) {
  DIR *d = opendir("/proc/self/task");
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n;
}

static void *execer(void *arg) {
  (void)arg;
  printf("thread %s the leader, execs\n",
         syscall(SYS_gettid) == getpid() ? "is" : "is not");
  char *argv[] = {self, "after", NULL};
  execv(self, argv);
  perror("execv");
  exit(1);
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc > 1 && strcmp(argv[1], "after") == 0) {
    printf("after exec: tid %s pid, %d thread(s)\n",
           syscall(SYS_gettid) == getpid() ? "==" : "!=", count_threads());
    printf("EXIT-SUCCESS\n");
    return 0;
  }
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n < 0) return 2;
  self[n] = 0;
  pthread_t t;
  pthread_create(&t, NULL, execer, NULL);
  pthread_join(t, NULL);
  printf("not reached\n");
  return 1;
}
