/* Used by tests/trace_cli.rs: prints "line N" with write(2) every 100 ms,
 * argv[1] times (forever when absent or 0). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    long count = argc > 1 ? atol(argv[1]) : 0;
    struct timespec tick = {0, 100 * 1000 * 1000};
    for (long i = 1; count == 0 || i <= count; i++) {
        char line[32];
        int len = snprintf(line, sizeof line, "line %ld\n", i);
        if (write(1, line, len) != len)
            return 1;
        nanosleep(&tick, NULL);
    }
    return 0;
}
