// A parent and a child process, each printing a line.
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    fflush(stdout);
    pid_t p = fork();
    if (p == 0) {
        printf("child\n");
        return 0;
    }
    waitpid(p, NULL, 0);
    printf("parent\n");
    return 0;
}
