// reel-test: varies
// Two threads increment a shared counter without a lock, 20 million times
// each, with no syscall. Natively on two cores updates are lost in the
// race; under reel (one thread at a time) they are lost only when a thread
// is preempted between its load and its store, which `record --chaos` makes
// happen at random points (tests/threads.rs: several chaos recordings give
// several totals, each replayed with its own).
#include <pthread.h>
#include <stdio.h>

#define N 20000000
static volatile long counter;

static void *worker(void *arg) {
  (void)arg;
  for (long i = 0; i < N; i++) counter++;
  return NULL;
}

int main(void) {
  pthread_t t[2];
  for (long i = 0; i < 2; i++) pthread_create(&t[i], NULL, worker, NULL);
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
  printf("counter %ld of %d\n", counter, 2 * N);
  printf("EXIT-SUCCESS\n");
  return 0;
}
