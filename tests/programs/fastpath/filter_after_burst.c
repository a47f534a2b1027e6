// A burst of calls the fast path buffers (getppid, lseek), then the
// program installs its own seccomp filter that answers getppid with EPERM,
// then the same calls again: every getppid after the filter must see the
// filter's answer, so none of them may be made in-process.
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static long burst(int n) {
    long ok = 0;
    for (int i = 0; i < n; i++) {
        if (getppid() > 0)
            ok++;
        lseek(0, 0, SEEK_CUR);
    }
    return ok;
}

int main(void) {
    printf("before: %ld of 200 getppid succeeded\n", burst(200));
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = sizeof code / sizeof code[0], .filter = code};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) {
        perror("seccomp");
        return 1;
    }
    long ok = burst(200); // getppid does not set errno: -EPERM comes back as is
    errno = 0;
    long r = getppid();
    printf("after: %ld of 200 getppid succeeded; then %ld (%s)\n", ok, r, (r == -EPERM || errno == EPERM) ? "EPERM" : "?");
    printf("EXIT-SUCCESS\n");
    return 0;
}
