// Two threads each call work() with their number; the main thread joins
// them. gdb tests list the threads at a breakpoint in work().
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
  pthread_t t[2];
  for (long i = 0; i < 2; i++) pthread_create(&t[i], NULL, run, (void *)i);
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
  printf("results %ld %ld\n", results[0], results[1]);
  printf("EXIT-SUCCESS\n");
  return 0;
}
