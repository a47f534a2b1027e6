// A deterministic computation whose size comes from a file (argv[1]):
// cachegrind counts the same instructions on every run.
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    FILE *f = fopen(argc > 1 ? argv[1] : "n.txt", "r");
    long n = 0;
    if (!f || fscanf(f, "%ld", &n) != 1) {
        fprintf(stderr, "no size\n");
        return 1;
    }
    fclose(f);
    unsigned *a = malloc(n * sizeof *a);
    unsigned x = 12345;
    for (long i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        a[i] = x >> 8;
    }
    unsigned long sum = 0;
    for (int round = 0; round < 8; round++)
        for (long i = 1; i < n; i++)
            sum += a[i] ^ a[i - 1] * (unsigned)round;
    printf("n %ld sum %lu\n", n, sum);
    free(a);
    return 0;
}
