// Signals sent to the program's own process group (kill(0, ...)) reach reel
// too when it shares the group: reel must survive each of them, not pass
// them on a second time, and finish the trace with the program's status.
// reel-test: exit=143
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t got[65];

static void on_signal(int sig) { got[sig]++; }

int main(void) {
    const int sigs[] = {SIGTERM, SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2,
                        SIGALRM, SIGVTALRM, SIGPROF, SIGPWR, SIGRTMIN + 2};
    for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        int sig = sigs[i];
        signal(sig, on_signal);
        if (kill(0, sig) != 0)
            return 1;
        // A signal sent to the group including the sender is delivered
        // before kill returns.
        printf("%s: handled %d time(s)\n", sig >= SIGRTMIN ? "SIGRTMIN+2" : strsignal(sig),
               (int)got[sig]);
    }
    fflush(stdout);
    // The last one is fatal: the status must be in the trace.
    signal(SIGTERM, SIG_DFL);
    kill(0, SIGTERM);
    printf("not reached\n");
    return 0;
}
