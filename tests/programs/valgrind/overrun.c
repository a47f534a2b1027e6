// Reads the file named by argv[1] line by line; a line "overrun" makes it
// read one int past the end of a heap buffer (memcheck: invalid read).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int sum_past_end(const int *v, int n) {
    int s = 0;
    for (int i = 0; i <= n; i++) // one too many
        s += v[i];
    return s;
}

int main(int argc, char **argv) {
    FILE *f = fopen(argc > 1 ? argv[1] : "input.txt", "r");
    if (!f) {
        perror("open");
        return 1;
    }
    char line[128];
    int lines = 0, total = 0;
    while (fgets(line, sizeof line, f)) {
        lines++;
        if (strcmp(line, "overrun\n") == 0) {
            int *v = malloc(4 * sizeof *v);
            for (int i = 0; i < 4; i++)
                v[i] = i + 1;
            total += sum_past_end(v, 4) > 0;
            free(v);
        }
    }
    fclose(f);
    printf("lines %d, overruns %d\n", lines, total);
    return 0;
}
