// Two threads increment one counter without a lock (helgrind: a race). The
// creator blocks on a pipe right after starting the thread, so the recorded
// schedule has the new thread run first, the order helgrind's
// pthread_create needs; the pipe is no lock to helgrind.
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static long counter;
static int done[2];

static void *work(void *arg) {
    (void)arg;
    for (int i = 0; i < 1000; i++)
        counter++;
    if (write(done[1], "x", 1) != 1)
        return NULL;
    return NULL;
}

int main(void) {
    char c;
    if (pipe(done))
        return 1;
    // A blocking call just before the thread starts: the recording's
    // scheduler then switches at the next blocking call, not earlier.
    if (write(done[1], "x", 1) != 1 || read(done[0], &c, 1) != 1)
        return 1;
    pthread_t t;
    pthread_create(&t, NULL, work, NULL);
    if (read(done[0], &c, 1) != 1)
        return 1;
    for (int i = 0; i < 1000; i++)
        counter++;
    pthread_join(t, NULL);
    printf("counter %ld\n", counter);
    return 0;
}
