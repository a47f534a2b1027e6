// A process tree: the parent forks a child that execs the program named by
// argv[1] with argv[2], waits for it and prints its status.
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 3)
        return 2;
    fflush(stdout);
    pid_t p = fork();
    if (p == 0) {
        execl(argv[1], argv[1], argv[2], (char *)NULL);
        _exit(127);
    }
    int st;
    if (waitpid(p, &st, 0) != p)
        return 1;
    printf("parent: child %d\n", WEXITSTATUS(st));
    return 0;
}
