/* Used by tests/silent.rs: prints an id taken from RDRAND (which reel
 * cannot trap without CPUID faulting), formatted in a stack buffer and
 * written with write(2); prints "no-rdrand" when the CPU lacks it. */
#include <cpuid.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void) {
    unsigned a, b, c, d;
    char line[64];
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_RDRND)) {
        strcpy(line, "no-rdrand\n");
    } else {
        unsigned long v = 0;
        unsigned char ok = 0;
        for (int i = 0; i < 10 && !ok; i++)
            __asm__ volatile("rdrand %0; setc %1" : "=r"(v), "=qm"(ok));
        snprintf(line, sizeof line, "id=%016lx\n", v);
    }
    if (write(1, line, strlen(line)) < 0)
        return 1;
    return 0;
}
