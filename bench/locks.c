// Lock-heavy threads: two threads take a shared mutex 20000 times each
// around a short update, so they contend (futex waits and wakes).
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static unsigned long total;

static void *worker(void *arg) {
  unsigned long x = (unsigned long)arg + 1;
  for (int i = 0; i < 20000; i++) {
    pthread_mutex_lock(&m);
    for (int k = 0; k < 20; k++) x = x * 6364136223846793005UL + 1;
    total += x & 0xff;
    pthread_mutex_unlock(&m);
  }
  return NULL;
}

int main(void) {
  pthread_t t[2];
  for (long i = 0; i < 2; i++) pthread_create(&t[i], NULL, worker, (void *)i);
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
  printf("%lu\n", total);
  return 0;
}
