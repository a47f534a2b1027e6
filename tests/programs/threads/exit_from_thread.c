// reel-test: exit=5
// A thread ends the whole process with exit() while the main thread waits
// in pthread_join.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void *quitter(void *arg) {
  (void)arg;
  printf("thread exits the process\n");
  fflush(stdout);
  exit(5);
}

int main(void) {
  pthread_t t;
  pthread_create(&t, NULL, quitter, NULL);
  pthread_join(t, NULL);
  printf("not reached\n");
  return 0;
}
