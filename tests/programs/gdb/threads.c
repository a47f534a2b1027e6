// Two threads, one after the other, each call work() with their number;
// the main thread waits for each. gdb tests list the threads at a
// breakpoint in work() and go back from the second thread's hit to the
// first's. (One at a time, so that which thread calls work() first does
// not depend on the schedule of the recording.)
#include <pthread.h>
#include <stdio.h>

static long results[2];

__attribute__((noinline)) long work(long id) {
  long v = id * 100 + 7;
  results[id] = v;
  return v;
}

static void *run(void *arg) { return (void *)work((long)arg); }

int main(void) {
  for (long i = 0; i < 2; i++) {
    pthread_t t;
    pthread_create(&t, NULL, run, (void *)i);
    pthread_join(t, NULL);
  }
  printf("results %ld %ld\n", results[0], results[1]);
  printf("EXIT-SUCCESS\n");
  return 0;
}
