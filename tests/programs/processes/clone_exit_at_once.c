// Tasks that exit as soon as they are created: a thread made by a raw clone
// whose first act is the exit syscall, a process that _exits at once, and a
// vfork child that does the same. The recording ends with the program.
#define _GNU_SOURCE
#include <linux/futex.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t thread_tid = -1;

static int exit_now(void *arg) {
    (void)arg;
    syscall(SYS_exit, 0);
    return 0;
}

int main(void) {
    for (int round = 0; round < 3; round++) {
        size_t size = 64 * 1024;
        char *stack = malloc(size);
        int flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
                    CLONE_SYSVSEM | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
        pid_t tid = clone(exit_now, stack + size, flags, NULL, &thread_tid, NULL, &thread_tid);
        if (tid < 0)
            return 1;
        // The kernel clears thread_tid and wakes us when the thread is gone.
        while (__atomic_load_n(&thread_tid, __ATOMIC_SEQ_CST) != 0)
            syscall(SYS_futex, &thread_tid, FUTEX_WAIT, tid, NULL, NULL, 0);
        printf("round %d: thread gone\n", round);
        free(stack);
    }
    pid_t p = fork();
    if (p == 0)
        _exit(7);
    int status;
    waitpid(p, &status, 0);
    printf("fork child exited with %d\n", WEXITSTATUS(status));
    p = vfork();
    if (p == 0)
        _exit(9);
    waitpid(p, &status, 0);
    printf("vfork child exited with %d\n", WEXITSTATUS(status));
    printf("EXIT-SUCCESS\n");
    return 0;
}
