// pthread_sigmask blocking SIGUSR2 and a real-time signal in the main
// thread; a child process sends both; they are delivered at unblock.
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t usr2, rt, step;
static volatile int usr2_step = -1;

static void on_sig(int sig) {
  if (sig == SIGUSR2) { usr2++; usr2_step = step; }
  else rt++;
}

int main(void) {
  signal(SIGUSR2, on_sig);
  signal(SIGRTMIN + 2, on_sig);
  sigset_t set, pend;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR2);
  sigaddset(&set, SIGRTMIN + 2);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  pid_t parent = getpid();
  pid_t c = fork();
  if (c == 0) {
    kill(parent, SIGUSR2);
    kill(parent, SIGRTMIN + 2);
    kill(parent, SIGRTMIN + 2);
    _exit(0);
  }
  waitpid(c, NULL, 0);
  sigpending(&pend);
  printf("child done: usr2=%d rt=%d pending usr2=%d rt=%d\n", usr2, rt,
         sigismember(&pend, SIGUSR2), sigismember(&pend, SIGRTMIN + 2));
  step = 1;
  pthread_sigmask(SIG_UNBLOCK, &set, NULL);
  step = 2;
  printf("after unblock: usr2=%d (in step %d) rt=%d\n", usr2, usr2_step, rt);
  printf("EXIT-SUCCESS\n");
  return 0;
}
