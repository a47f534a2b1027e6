// A thread with per-thread kernel state a fork does not copy: an
// alternate signal stack and a robust futex list (it exits holding a
// robust mutex, so the kernel marks it owner-died). It makes 300 calls,
// calls mark(), 300 more, then takes a signal on its alternate stack.
// gdb tests go back to mark() from a checkpoint holding both threads
// and continue: the recreated thread must have both back, or the
// replay diverges (the handler's frame lands elsewhere; the main
// thread's lock waits in futex instead of getting EOWNERDEAD).
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static pthread_mutex_t lock;
static char altstack[65536];
static volatile long on_alt = -1;

static void handler(int sig) {
  char here;
  (void)sig;
  on_alt = &here >= altstack && &here < altstack + sizeof altstack;
}

static volatile long marked;

__attribute__((noinline)) void mark(long i) { marked = i; }

static void *run(void *arg) {
  stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack};
  if (sigaltstack(&ss, NULL) != 0) return NULL;
  pthread_mutex_lock(&lock);
  for (int i = 0; i < 300; i++) getppid();
  mark((long)arg);
  for (int i = 0; i < 300; i++) getppid();
  pthread_kill(pthread_self(), SIGUSR1);
  return NULL;  // still holding the robust mutex
}

int main(void) {
  struct sigaction sa = {.sa_handler = handler, .sa_flags = SA_ONSTACK};
  sigaction(SIGUSR1, &sa, NULL);
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  pthread_mutex_init(&lock, &attr);
  pthread_t t;
  pthread_create(&t, NULL, run, (void *)1);
  pthread_join(t, NULL);
  int r = pthread_mutex_lock(&lock);
  printf("on_alt %ld owner_dead %d\n", on_alt, r == EOWNERDEAD);
  printf("EXIT-SUCCESS\n");
  return 0;
}
