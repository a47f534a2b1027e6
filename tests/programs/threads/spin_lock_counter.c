// reel-test: native-differs
// Two threads add to a counter under a pthread_spin_lock (glibc spins with
// `pause`), and count how often the lock changed hands. Natively the
// hand-overs depend on timing. Under reel the spinning thread yields at its
// patched `pause` as soon as the holder waits; the replay must reproduce
// the recorded hand-overs exactly.
#include <pthread.h>
#include <stdio.h>

#define N 8000000
static pthread_spinlock_t lock;
static unsigned long sum;
static long counter, handovers;
static int last = -1;

static void *worker(void *arg) {
  int id = (int)(long)arg;
  unsigned long x = id + 1;
  for (int i = 0; i < N; i++) {
    for (int k = 0; k < 8; k++) x = x * 6364136223846793005UL + 1;
    pthread_spin_lock(&lock);
    counter += x & 1;
    if (last != id) {
      handovers++;
      last = id;
    }
    pthread_spin_unlock(&lock);
  }
  __atomic_fetch_add(&sum, x, __ATOMIC_RELAXED);
  return NULL;
}

int main(void) {
  pthread_spin_init(&lock, PTHREAD_PROCESS_PRIVATE);
  pthread_t t[2];
  for (long i = 0; i < 2; i++) pthread_create(&t[i], NULL, worker, (void *)i);
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
  printf("counter %ld (sum %lu), lock changed hands %ld times\n", counter, sum, handovers);
  printf("EXIT-SUCCESS\n");
  return 0;
}
