// reel-test: varies
// Two threads increment a shared counter without a lock (a data race) and
// record the order in which they finished: natively the result depends on
// scheduling; a replay must reproduce the recorded one exactly.
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static volatile long counter;
static volatile int order[2], done;

static void *worker(void *arg) {
  long id = (long)arg;
  for (int i = 0; i < 200000; i++) {
    counter++;
    if (i % 50000 == 0) getppid(); // a syscall now and then
  }
  order[__sync_fetch_and_add(&done, 1)] = (int)id;
  return NULL;
}

int main(void) {
  pthread_t t[2];
  for (long i = 0; i < 2; i++) pthread_create(&t[i], NULL, worker, (void *)i);
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
  printf("counter %ld, finished first: %d\n", counter, order[0]);
  printf("EXIT-SUCCESS\n");
  return 0;
}
