// A thread makes 300 syscalls, then calls work(1), while the main thread
// waits for it in pthread_join; then the main thread makes 300 more and
// calls work(2): enough events for reel to checkpoint the process with
// both threads, so that going back from the main thread's call to the
// other's starts from such a checkpoint. Each thread has its own `mine`
// (thread-local), which gdb tests print in work().
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static long result;
__thread long mine;

__attribute__((noinline)) long work(long id) {
  result = id * 100 + 7;
  return result;
}

static void *run(void *arg) {
  mine = 10;
  for (int i = 0; i < 300; i++) getppid();
  return (void *)work((long)arg);
}

int main(void) {
  pthread_t t;
  pthread_create(&t, NULL, run, (void *)1);
  void *got;
  pthread_join(t, &got);
  mine = 20;
  for (int i = 0; i < 300; i++) getppid();
  work(2);
  printf("thread %ld, result %ld\n", (long)got, result);
  printf("EXIT-SUCCESS\n");
  return 0;
}
