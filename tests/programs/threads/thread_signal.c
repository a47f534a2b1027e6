// pthread_kill sends SIGUSR1 to one thread, which handles it; the handler
// records which thread it ran on.
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static pthread_t target;
static volatile sig_atomic_t on_target, got;
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;

static void on_usr1(int sig) {
  (void)sig;
  got++;
  on_target = pthread_equal(pthread_self(), target);
}

static void *waiter(void *arg) {
  (void)arg;
  pthread_mutex_lock(&m);
  while (!got) pthread_cond_wait(&c, &m);
  pthread_mutex_unlock(&m);
  return NULL;
}

int main(void) {
  signal(SIGUSR1, on_usr1);
  pthread_create(&target, NULL, waiter, NULL);
  usleep(20000);
  pthread_kill(target, SIGUSR1);
  while (!got) usleep(1000);
  pthread_mutex_lock(&m);
  pthread_cond_broadcast(&c);
  pthread_mutex_unlock(&m);
  pthread_join(target, NULL);
  printf("handled %d time(s), on the target thread: %d\n", (int)got, (int)on_target);
  printf("EXIT-SUCCESS\n");
  return 0;
}
