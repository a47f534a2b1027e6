/* Used by tests/trace_cli.rs: reads the file argv[1] to its end with
 * read(2) in 64 KiB chunks, discarding the bytes, and prints the total. */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

static char buf[65536];

int main(int argc, char **argv) {
    if (argc < 2)
        return 2;
    int fd = open(argv[1], O_RDONLY);
    if (fd < 0) {
        perror(argv[1]);
        return 1;
    }
    long long total = 0;
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        total += n;
    if (n < 0) {
        perror("read");
        return 1;
    }
    printf("read %lld bytes\n", total);
    return 0;
}
