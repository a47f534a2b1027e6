// reel-test: native-differs
// Threads report their tids, thread-local values and a clock reading.
#include <pthread.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static __thread long local = 7;
static long out[3][3];

static void *worker(void *arg) {
  long id = (long)arg;
  local += id;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  out[id][0] = syscall(SYS_gettid);
  out[id][1] = local;
  out[id][2] = ts.tv_nsec;
  return NULL;
}

int main(void) {
  pthread_t t[3];
  for (long i = 0; i < 3; i++) pthread_create(&t[i], NULL, worker, (void *)i);
  for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
  for (int i = 0; i < 3; i++)
    printf("thread %d: tid %ld local %ld ns %ld\n", i, out[i][0], out[i][1], out[i][2]);
  printf("main local %ld pid %d\n", local, getpid());
  printf("EXIT-SUCCESS\n");
  return 0;
}
