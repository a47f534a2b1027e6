// Prints what only the recording can reproduce: its pid, the clock and
// random bytes. Under `replay --valgrind` they must be the recorded ones.
#include <stdio.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

int main(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    unsigned long r = 0;
    if (getrandom(&r, sizeof r, 0) != sizeof r)
        return 1;
    printf("pid %d time %ld.%09ld random %016lx\n", getpid(), (long)ts.tv_sec, ts.tv_nsec, r);
    return 0;
}
