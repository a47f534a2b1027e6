/* Used by tests/silent.rs: tries to put code at reel's private page
 * (0x700000000000) — mmap MAP_FIXED over it, mprotect it writable, munmap
 * it, open /proc/self/mem for writing — and prints each result; then calls
 * getpid(2), which must be in the trace. Under reel each attempt fails
 * (EPERM; EACCES for the open). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define REEL_PAGE ((void *)0x700000000000UL)

static void report(const char *what, int failed) {
    printf("%s: %s\n", what, failed ? strerror(errno) : "ok");
}

int main(void) {
    void *p = mmap(REEL_PAGE, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    report("mmap", p == MAP_FAILED);
    if (p != MAP_FAILED) {
        /* Natively: `syscall; ret` where reel's syscall instruction is. */
        static const unsigned char code[] = {0x0f, 0x05, 0xc3};
        memcpy(p, code, sizeof code);
    }
    report("mprotect", mprotect(REEL_PAGE, 4096, PROT_READ | PROT_WRITE | PROT_EXEC) != 0);
    report("munmap", munmap(REEL_PAGE, 8192) != 0);
    /* /proc/self/mem writes even read-only pages. */
    int fd = open("/proc/self/mem", O_RDWR);
    report("open /proc/self/mem", fd < 0);
    printf("pid>0: %d\n", (int)syscall(SYS_getpid) > 0);
    fflush(stdout);
    return 0;
}
