// A daemon: the child forks a grandchild and exits at once; the grandchild
// starts its own session, lets go of the terminal's files, tells the parent
// it runs, and waits for ever. The parent exits once told. The recording
// must end when the program does (the daemon is killed then), not hang.
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(void) {
    int ready[2];
    if (pipe(ready) != 0)
        return 1;
    pid_t child = fork();
    if (child < 0)
        return 1;
    if (child == 0) {
        if (fork() != 0)
            _exit(0);
        setsid();
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        if (write(ready[1], "r", 1) != 1)
            _exit(1);
        for (;;)
            pause();
    }
    char c;
    if (read(ready[0], &c, 1) != 1)
        return 1;
    printf("parent: the daemon runs\n");
    printf("EXIT-SUCCESS\n");
    return 0;
}
