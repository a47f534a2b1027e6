/* Used by tests/silent.rs: jumps into reel's private code page (its
 * `syscall; int3`) with rax = getpid, a syscall the seccomp filter lets
 * through untraced; the int3 after it raises SIGTRAP, whose handler skips
 * back. Under reel the recording must refuse to go on silently. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

static volatile unsigned long back;

static void on_trap(int sig, siginfo_t *si, void *ctx) {
    ucontext_t *uc = ctx;
    uc->uc_mcontext.gregs[REG_RIP] = back;
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_trap;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGTRAP, &sa, NULL);
    long r;
    __asm__ volatile("lea 1f(%%rip), %%rcx\n\t"
                     "mov %%rcx, %1\n\t"
                     "mov $39, %%eax\n\t"
                     "movabs $0x700000000000, %%rcx\n\t"
                     "jmp *%%rcx\n"
                     "1:"
                     : "=a"(r), "=m"(back)
                     :
                     : "rcx", "r11", "memory");
    printf("getpid through reel's page: %d\n", r > 0);
    return 0;
}
