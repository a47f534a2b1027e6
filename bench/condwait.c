// 5000 getppid() calls in the main thread while a second thread, just
// created, waits to run and then waits in pthread_cond_wait (issue 11:
// threads must not slow each other down; the recorder used to poll for
// stops with a 500 us sleep whenever a thread waited for its turn).
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static int done;
static void *waiter(void *arg) {
  pthread_mutex_lock(&m);
  while (!done) pthread_cond_wait(&c, &m);
  pthread_mutex_unlock(&m);
  return NULL;
}
int main(void) {
  pthread_t t;
  pthread_create(&t, NULL, waiter, NULL);
  long sum = 0;
  for (int i = 0; i < 5000; i++) sum += getppid() > 0;
  pthread_mutex_lock(&m);
  done = 1;
  pthread_cond_broadcast(&c);
  pthread_mutex_unlock(&m);
  pthread_join(t, NULL);
  printf("%ld\n", sum);
  return 0;
}
