// Handles a signal it sends itself: a trace with a signal event.
#include <signal.h>
#include <stdio.h>

static volatile sig_atomic_t got;

static void on_usr1(int sig) {
    got = sig;
}

int main(void) {
    signal(SIGUSR1, on_usr1);
    raise(SIGUSR1);
    printf("got %d\n", (int)got);
    return 0;
}
