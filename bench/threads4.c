// Four threads compute and take a shared mutex now and then (the brief's
// "4 threads compute + mutex" workload, ~0.1 s natively here).
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static unsigned long total;

static void *worker(void *arg) {
  unsigned long x = (unsigned long)arg + 88172645463325252ul, acc = 0;
  for (int round = 0; round < 200; round++) {
    for (int i = 0; i < 50000; i++) {
      x ^= x << 13; x ^= x >> 7; x ^= x << 17;
      acc += x & 0xff;
    }
    pthread_mutex_lock(&m);
    total += acc;
    pthread_mutex_unlock(&m);
  }
  return NULL;
}

int main(void) {
  pthread_t t[4];
  for (long i = 0; i < 4; i++) pthread_create(&t[i], NULL, worker, (void *)i);
  for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
  printf("%lu\n", total);
  return 0;
}
