// Invalid syscall numbers (-1, another negative, one past the table, an
// x32-flagged one) fail with ENOSYS natively; under reel each must be an
// event that replay returns the same way.
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static void try_nr(long nr) {
    errno = 0;
    long r = syscall(nr, 1, 2, 3);
    int e = errno;
    printf("syscall(%ld) = %ld errno=%s\n", nr, r, e == ENOSYS ? "ENOSYS" : strerror(e));
}

int main(void) {
    try_nr(-1);
    try_nr(-2);
    try_nr(-1000000);
    try_nr(1000);
    try_nr(0x40000000L + 1000);
    try_nr(0x7fffffffL);
    // The program carries on making real calls after them.
    printf("pid ok: %d\n", getpid() > 0);
    printf("EXIT-SUCCESS\n");
    return 0;
}
