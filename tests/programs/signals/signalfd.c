// signalfd: blocked signals read as signalfd_siginfo records, from the
// process itself and from a child process; poll sees the fd readable.
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  sigaddset(&set, SIGUSR2);
  sigprocmask(SIG_BLOCK, &set, NULL);
  int fd = signalfd(-1, &set, SFD_CLOEXEC);
  if (fd < 0) { perror("signalfd"); return 1; }
  kill(getpid(), SIGUSR1);
  struct signalfd_siginfo info;
  ssize_t n = read(fd, &info, sizeof info);
  printf("read %zd bytes: signo=%s pid==self:%d code=%s\n", n,
         info.ssi_signo == SIGUSR1 ? "SIGUSR1" : "other", info.ssi_pid == (unsigned)getpid(),
         info.ssi_code == SI_USER ? "SI_USER" : "other");
  pid_t c = fork();
  if (c == 0) {
    usleep(50000);
    kill(getppid(), SIGUSR2);
    _exit(0);
  }
  struct pollfd p = {.fd = fd, .events = POLLIN};
  int r = poll(&p, 1, 5000);
  printf("poll=%d revents POLLIN=%d\n", r, (p.revents & POLLIN) != 0);
  n = read(fd, &info, sizeof info);
  printf("read %zd bytes: signo=%s pid==child:%d\n", n,
         info.ssi_signo == SIGUSR2 ? "SIGUSR2" : "other", info.ssi_pid == (unsigned)c);
  waitpid(c, NULL, 0);
  printf("EXIT-SUCCESS\n");
  return 0;
}
