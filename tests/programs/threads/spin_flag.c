// reel-test: native-differs
// The main thread spins on an atomic flag (no `pause`, no syscall) that a
// second thread sets after a short sleep, and counts how often it looked.
// Natively the count depends on timing. Under reel the spinning thread must
// be preempted for the other to run (at a landmark), and the replay must
// stop it at the same iteration, so it prints the recorded count.
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

static atomic_int flag;

static void *setter(void *arg) {
  (void)arg;
  usleep(20000);
  atomic_store(&flag, 1);
  return NULL;
}

int main(void) {
  pthread_t t;
  pthread_create(&t, NULL, setter, NULL);
  unsigned long local = 0;
  while (!atomic_load_explicit(&flag, memory_order_relaxed)) local++;
  pthread_join(t, NULL);
  printf("looked %lu times\n", local);
  printf("EXIT-SUCCESS\n");
  return 0;
}
