/* Used by tests/trace_cli.rs: reads the file named by argv[1] with one
 * read(2) into a static buffer and prints, with write(2):
 *   "pid=NNNNNNNN"          (getpid through syscall(2), fixed width)
 *   "decision: accept"       when the file starts with "yes"
 *   "decision: reject"       when it starts with "no"  (same length as accept)
 *   "decision: unknown input, giving up"  otherwise (a longer write)
 * Only the first three bytes of the file decide anything: the rest may
 * change without changing control flow. Lines are written from one static
 * buffer, so accept and reject make the same write(2) call. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static char buf[256];
static char out[64];

/* Every line is written from the same buffer, so two lines of the same
 * length make identical write(2) calls: replay then cannot tell them apart
 * by the arguments, only by the bytes it prints. */
static void say(const char *s) {
    size_t n = strlen(s);
    memcpy(out, s, n);
    if (write(1, out, n) < 0)
        _exit(3);
}

int main(int argc, char **argv) {
    if (argc < 2)
        return 2;
    int fd = open(argv[1], O_RDONLY);
    if (fd < 0) {
        perror(argv[1]);
        return 1;
    }
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    if (n < 3)
        return 1;
    char line[64];
    snprintf(line, sizeof line, "pid=%08ld\n", (long)syscall(SYS_getpid));
    say(line);
    if (memcmp(buf, "yes", 3) == 0)
        say("decision: accept\n");
    else if (memcmp(buf, "no", 2) == 0)
        say("decision: reject\n");
    else
        say("decision: unknown input, giving up\n");
    return 0;
}
