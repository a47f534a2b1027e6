// Four threads making in-process calls (pread on one file, clock_gettime,
// getppid) and taking turns on a contended mutex.
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static int fd;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long shared;

static void *work(void *arg) {
  long id = (long)arg;
  unsigned long mine = 0;
  for (int i = 0; i < 500; i++) {
    char b[4];
    struct timespec ts;
    if (pread(fd, b, 4, (id * 500 + i) % 1000) != 4) { perror("pread"); exit(1); }
    mine += (unsigned char)b[0] + (getppid() > 0);
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (i % 50 == 0) {
      pthread_mutex_lock(&lock);
      shared = shared * 7 + id;
      pthread_mutex_unlock(&lock);
    }
  }
  return (void *)mine;
}

int main(void) {
  char path[] = "/tmp/reel-fastpath-threads-XXXXXX";
  fd = mkstemp(path);
  if (fd < 0) { perror("mkstemp"); return 1; }
  unlink(path);
  char data[1024];
  for (int i = 0; i < 1024; i++) data[i] = (char)i;
  if (write(fd, data, sizeof data) != (ssize_t)sizeof data) { perror("write"); return 1; }
  pthread_t t[4];
  for (long i = 0; i < 4; i++) pthread_create(&t[i], 0, work, (void *)i);
  unsigned long total = 0;
  for (int i = 0; i < 4; i++) {
    void *r;
    pthread_join(t[i], &r);
    total += (unsigned long)r;
  }
  printf("threads: total %lu, shared %lx\n", total, shared);
  printf("EXIT-SUCCESS\n");
  return 0;
}
