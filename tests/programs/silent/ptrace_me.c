/* Used by tests/silent.rs: calls ptrace(PTRACE_TRACEME), as a debugger
 * started inside a recording would, and prints whether it failed. */
#include <stdio.h>
#include <sys/ptrace.h>

int main(void) {
    long r = ptrace(PTRACE_TRACEME, 0, 0, 0);
    printf("ptrace failed: %d\n", r != 0);
    return 0;
}
