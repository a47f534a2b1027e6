// A program that ignores a signal, sends it to its whole process group (reel
// included when it shares the group), then aborts: reel must survive the
// signal and record the death by SIGABRT.
// reel-test: exit=134
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(void) {
    signal(SIGUSR1, SIG_IGN);
    if (kill(0, SIGUSR1) != 0)
        return 1;
    printf("sent SIGUSR1 to the group, aborting\n");
    fflush(stdout);
    abort();
}
