// Two threads take turns through pipes; each line shows the order in which
// they updated a shared number; the worker then reads past a buffer.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int to_worker[2], to_main[2];
static long shared;
static char *leak;

static void *worker(void *arg) {
    (void)arg;
    char c;
    for (int i = 0; i < 3; i++) {
        if (read(to_worker[0], &c, 1) != 1)
            return NULL;
        shared = shared * 10 + (c - '0');
        if (write(to_main[1], "k", 1) != 1)
            return NULL;
    }
    leak = malloc(8);
    strcpy(leak, "worker");
    volatile char past = leak[9];
    (void)past;
    return NULL;
}

int main(void) {
    char c, line[64];
    if (pipe(to_worker) || pipe(to_main))
        return 1;
    // A blocking call just before the thread starts: the recording's
    // scheduler switches at blocking calls (as valgrind does) only.
    if (write(to_main[1], "x", 1) != 1 || read(to_main[0], &c, 1) != 1)
        return 1;
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    for (int i = 0; i < 3; i++) {
        char d = '1' + i;
        if (write(to_worker[1], &d, 1) != 1 || read(to_main[0], &c, 1) != 1)
            return 1;
        shared *= 2;
        int n = snprintf(line, sizeof line, "step %d: %ld\n", i, shared);
        if (write(1, line, n) != n)
            return 1;
    }
    pthread_join(t, NULL);
    int n = snprintf(line, sizeof line, "%s\n", leak);
    return write(1, line, n) == n ? 0 : 1;
}
