// reel-test: exit=159
// The program's own seccomp filter kills it (SECCOMP_RET_KILL_PROCESS) at
// getppid: it dies of SIGSYS, having printed only what came before.
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  struct rlimit none = {0, 0};
  setrlimit(RLIMIT_CORE, &none); // no core file
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  struct sock_filter f[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_getppid, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog p = {sizeof f / sizeof f[0], f};
  printf("install: %ld\n", syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &p));
  printf("calling getppid\n");
  getppid();
  printf("not reached\n");
  return 0;
}
