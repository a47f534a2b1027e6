// reel-test: exit=139
// A thread other than the main one dies of SIGSEGV (a NULL write, no
// handler) while the main thread waits in pthread_join: the whole process
// dies of it.
#include <pthread.h>
#include <stdio.h>

static void *crasher(void *arg) {
  printf("thread writes through NULL\n");
  fflush(stdout);
  *(volatile int *)arg = 1;
  return NULL;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  pthread_t t;
  printf("main starts the thread\n");
  pthread_create(&t, NULL, crasher, NULL);
  pthread_join(t, NULL);
  printf("not reached\n");
  return 0;
}
