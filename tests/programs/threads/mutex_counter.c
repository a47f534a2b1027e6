// Four threads add to a counter under a mutex and join; the main thread
// prints the total and what each thread returned.
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static long counter;

static void *worker(void *arg) {
  long id = (long)arg;
  for (int i = 0; i < 5000; i++) {
    pthread_mutex_lock(&m);
    counter++;
    pthread_mutex_unlock(&m);
  }
  return (void *)(id * 10);
}

int main(void) {
  pthread_t t[4];
  for (long i = 0; i < 4; i++) pthread_create(&t[i], NULL, worker, (void *)i);
  long sum = 0;
  for (int i = 0; i < 4; i++) {
    void *r;
    pthread_join(t[i], &r);
    sum += (long)r;
  }
  printf("counter %ld, returned %ld\n", counter, sum);
  printf("EXIT-SUCCESS\n");
  return 0;
}
