// The program installs seccomp filters of its own (as sandboxes do): an
// ERRNO answer, a TRAP whose SIGSYS handler emulates the call, a second
// filter stacked with prctl(PR_SET_SECCOMP), and a child that inherits
// both. It prints what each call returned and what the handler saw.
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#define LD_NR BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr))
#define ANSWER(nr, action) \
  BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), BPF_STMT(BPF_RET | BPF_K, (action))
#define ALLOW BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)

static volatile int trapped_code, trapped_errno, trapped_nr, trapped_addr_ok;
static volatile unsigned trapped_arch;

static void on_sigsys(int sig, siginfo_t *si, void *ctx) {
  (void)sig;
  ucontext_t *uc = ctx;
  trapped_code = si->si_code;
  trapped_errno = si->si_errno;
  trapped_nr = si->si_syscall;
  trapped_arch = si->si_arch;
  trapped_addr_ok = (unsigned long)si->si_call_addr == (unsigned long)uc->uc_mcontext.gregs[REG_RIP];
  uc->uc_mcontext.gregs[REG_RAX] = 1234; // the call's "result"
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) return 2;
  struct sock_filter first[] = {
      LD_NR,
      ANSWER(__NR_getppid, SECCOMP_RET_ERRNO | 77),
      ANSWER(__NR_uname, SECCOMP_RET_TRAP | 42),
      ALLOW,
  };
  struct sock_fprog p1 = {sizeof first / sizeof first[0], first};
  long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &p1);
  printf("seccomp(SET_MODE_FILTER) = %ld\n", r);

  errno = 0;
  r = getppid();
  printf("getppid = %ld errno %d\n", r, errno);

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_sigsys;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGSYS, &sa, NULL);
  struct utsname u;
  r = syscall(SYS_uname, &u);
  printf("uname = %ld; SIGSYS code %d errno %d nr %d arch %#x addr %s\n", r, trapped_code,
         trapped_errno, trapped_nr, trapped_arch, trapped_addr_ok ? "ok" : "wrong");

  unsigned action = SECCOMP_RET_ERRNO;
  printf("action ERRNO available: %ld\n", syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action));

  struct sock_filter second[] = {LD_NR, ANSWER(__NR_getuid, SECCOMP_RET_ERRNO | 13), ALLOW};
  struct sock_fprog p2 = {sizeof second / sizeof second[0], second};
  printf("prctl(PR_SET_SECCOMP) = %d\n", prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &p2, 0, 0));
  errno = 0;
  r = syscall(SYS_getuid);
  printf("getuid = %ld errno %d\n", r, errno);
  errno = 0;
  r = getppid();
  printf("getppid still = %ld errno %d\n", r, errno);

  pid_t child = fork();
  if (child == 0) {
    errno = 0;
    long a = getppid();
    int e1 = errno;
    errno = 0;
    long b = syscall(SYS_getuid);
    printf("child: getppid = %ld errno %d, getuid = %ld errno %d\n", a, e1, b, errno);
    _exit(0);
  }
  int status;
  waitpid(child, &status, 0);
  printf("child status %d\n", status);
  printf("EXIT-SUCCESS\n");
  return 0;
}
