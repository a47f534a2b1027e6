// reel-test: native-differs
// Like spin_flag, but the spin loop executes `pause` on every pass, as real
// spin-waits do. reel preempts it once (at a landmark), patches its
// `pause` to trap, and from then on it yields there whenever the other
// thread waits. The setter raises the flag in several rounds, so that some
// round spins after the patch however the first rounds were scheduled (on
// a loaded machine the first preemption can come late). The replay must
// count the same traps: it prints the recorded number of passes.
#include <immintrin.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

#define ROUNDS 4

static atomic_int flag;

static void *setter(void *arg) {
  (void)arg;
  for (int round = 1; round <= ROUNDS; round++) {
    usleep(20000);
    atomic_store(&flag, round);
  }
  return NULL;
}

int main(void) {
  pthread_t t;
  pthread_create(&t, NULL, setter, NULL);
  unsigned long local = 0;
  for (int round = 1; round <= ROUNDS; round++) {
    while (atomic_load_explicit(&flag, memory_order_relaxed) < round) {
      _mm_pause();
      local++;
    }
  }
  pthread_join(t, NULL);
  printf("looked %lu times\n", local);
  printf("EXIT-SUCCESS\n");
  return 0;
}
