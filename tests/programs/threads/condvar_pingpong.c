// reel-test: native-differs
// Two threads take turns through a condition variable; each turn reads
// the clock, so the recorded times must come back in replay.
#include <pthread.h>
#include <stdio.h>
#include <time.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static int turn;
static long stamps[20];

static void *player(void *arg) {
  long id = (long)arg;
  for (int r = 0; r < 10; r++) {
    pthread_mutex_lock(&m);
    while (turn % 2 != id) pthread_cond_wait(&c, &m);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    stamps[turn] = ts.tv_nsec;
    turn++;
    pthread_cond_broadcast(&c);
    pthread_mutex_unlock(&m);
  }
  return NULL;
}

int main(void) {
  pthread_t t[2];
  for (long i = 0; i < 2; i++) pthread_create(&t[i], NULL, player, (void *)i);
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
  long x = 0;
  for (int i = 0; i < 20; i++) x = x * 31 + stamps[i];
  printf("turns %d, clock digest %ld\n", turn, x);
  printf("EXIT-SUCCESS\n");
  return 0;
}
