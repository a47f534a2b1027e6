// SA_SIGINFO contents: si_pid/si_uid/si_code from a child's kill, si_value
// and SI_QUEUE from sigqueue, si_addr/si_code of a SIGSEGV.
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static siginfo_t last;
static volatile sig_atomic_t count;
static sigjmp_buf env;

static void on_sig(int sig, siginfo_t *si, void *uc) {
  last = *si;
  count++;
  if (sig == SIGSEGV) siglongjmp(env, 1);
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_sig;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGUSR1, &sa, NULL);
  sigaction(SIGSEGV, &sa, NULL);
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  sigprocmask(SIG_BLOCK, &set, &old);
  pid_t c = fork();
  if (c == 0) { kill(getppid(), SIGUSR1); _exit(0); }
  waitpid(c, NULL, 0);
  sigprocmask(SIG_SETMASK, &old, NULL);
  printf("kill from child: signo=%d si_code=%s si_pid==child:%d si_uid==uid:%d\n",
         last.si_signo, last.si_code == SI_USER ? "SI_USER" : "other",
         last.si_pid == c, last.si_uid == getuid());
  union sigval v = {.sival_int = 424242};
  sigqueue(getpid(), SIGUSR1, v);
  printf("sigqueue: si_code=%s si_value=%d si_pid==self:%d\n",
         last.si_code == SI_QUEUE ? "SI_QUEUE" : "other", last.si_value.sival_int,
         last.si_pid == getpid());
  if (sigsetjmp(env, 1) == 0) *(volatile int *)0x1234 = 5;
  printf("segv: si_addr=%p si_code=%s signo=%d count=%d\n", last.si_addr,
         last.si_code == SEGV_MAPERR ? "SEGV_MAPERR" : "other", last.si_signo, count);
  printf("EXIT-SUCCESS\n");
  return 0;
}
