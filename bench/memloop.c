// A loop whose only progress is in memory (`lock add` on a counter: its
// registers repeat every pass) spins until a second thread, after a 10 ms
// sleep, sets a flag. Under reel the spinner is preempted twice, ~10^7
// passes in, at landmarks that replay must find again.
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

static atomic_int flag;
static atomic_long counter;

static void *setter(void *arg) {
  (void)arg;
  usleep(10000);
  atomic_store(&flag, 1);
  return NULL;
}

int main(void) {
  pthread_t t;
  pthread_create(&t, NULL, setter, NULL);
  while (!atomic_load_explicit(&flag, memory_order_relaxed))
    atomic_fetch_add_explicit(&counter, 1, memory_order_relaxed);
  pthread_join(t, NULL);
  printf("%ld\n", atomic_load(&counter));
  return 0;
}
