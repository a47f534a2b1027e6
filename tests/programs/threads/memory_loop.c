// reel-test: native-differs
// Loops whose registers repeat on every pass: their only progress is in
// memory. The main thread counts in a stack variable of an -O0 function,
// a second thread with `atomic_fetch_add` on a global, each until a third
// thread sets a flag. Under reel both are preempted mid-loop (landmarks
// whose registers alone match every pass); the replay must stop them at
// the same pass, so it prints the recorded counts.
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

static atomic_int flag;
static atomic_long shared;

static void *setter(void *arg) {
  (void)arg;
  usleep(30000);
  atomic_store(&flag, 1);
  return NULL;
}

static void *adder(void *arg) {
  (void)arg;
  while (!atomic_load_explicit(&flag, memory_order_relaxed))
    atomic_fetch_add_explicit(&shared, 1, memory_order_relaxed);
  return NULL;
}

#pragma GCC push_options
#pragma GCC optimize("O0")
static long count_on_stack(void) {
  long n = 0;
  while (!atomic_load_explicit(&flag, memory_order_relaxed)) n++;
  return n;
}
#pragma GCC pop_options

int main(void) {
  pthread_t s, a;
  pthread_create(&a, NULL, adder, NULL);
  pthread_create(&s, NULL, setter, NULL);
  long n = count_on_stack();
  pthread_join(s, NULL);
  pthread_join(a, NULL);
  printf("stack counter %ld, shared counter %ld\n", n, atomic_load(&shared));
  printf("EXIT-SUCCESS\n");
  return 0;
}
