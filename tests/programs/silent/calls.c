/* Used by tests/silent.rs: lseek(2) to offset 5 of argv[1], read(2) 10
 * bytes, write(2) them to the new file argv[2], then write(2) "done\n" to
 * stdout; each call is one event whose arguments the test edits. */
#include <fcntl.h>
#include <unistd.h>

int main(int argc, char **argv) {
    char buf[16];
    if (argc < 3)
        return 2;
    int in = open(argv[1], O_RDONLY);
    int out = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in < 0 || out < 0)
        return 1;
    if (lseek(in, 5, SEEK_SET) != 5)
        return 1;
    if (read(in, buf, 10) != 10)
        return 1;
    if (write(out, buf, 10) != 10)
        return 1;
    if (write(1, "done\n", 5) != 5)
        return 1;
    return 0;
}
