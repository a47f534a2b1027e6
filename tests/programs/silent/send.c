/* Used by tests/silent.rs: reads 10 bytes from argv[1], sends them over a
 * socketpair with sendto(2), then with sendmsg(2), reads both back and
 * prints "done". */
#include <fcntl.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

int main(int argc, char **argv) {
    char buf[10], back[32];
    int sv[2];
    if (argc < 2 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return 2;
    int in = open(argv[1], O_RDONLY);
    if (in < 0 || read(in, buf, sizeof buf) != sizeof buf)
        return 1;
    if (sendto(sv[0], buf, 5, 0, NULL, 0) != 5)
        return 1;
    struct iovec iov = {buf + 5, 5};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    if (sendmsg(sv[0], &msg, 0) != 5)
        return 1;
    size_t got = 0;
    while (got < 10) {
        ssize_t n = read(sv[1], back + got, sizeof back - got);
        if (n <= 0)
            return 1;
        got += n;
    }
    printf("done\n");
    return 0;
}
