/* Used by tests/silent.rs: execs itself once with the argument "again",
 * then prints which run it is. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) {
        execl("/proc/self/exe", argv[0], "again", (char *)0);
        return 1;
    }
    printf("second run: %s\n", argv[1]);
    return 0;
}
