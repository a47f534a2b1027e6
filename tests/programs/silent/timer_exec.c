/* Used by tests/silent.rs: 30 children each start a 100 µs interval timer
 * (SIGALRM ignored) and exec this program again, which stops it and exits
 * 0; the timer survives exec, so its signals arrive while reel prepares the
 * new address space. Prints how many children did not exit 0. */
#include <signal.h>
#include <stdio.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc > 1) {
        struct itimerval off = {{0, 0}, {0, 0}};
        setitimer(ITIMER_REAL, &off, 0);
        return 0;
    }
    for (int i = 0; i < 30; i++) {
        if (fork() == 0) {
            signal(SIGALRM, SIG_IGN);
            struct itimerval it = {{0, 100}, {0, 100}};
            setitimer(ITIMER_REAL, &it, 0);
            execl("/proc/self/exe", argv[0], "child", (char *)0);
            _exit(9);
        }
    }
    int st, bad = 0;
    while (wait(&st) > 0)
        bad += !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    printf("failed children: %d\n", bad);
    return 0;
}
