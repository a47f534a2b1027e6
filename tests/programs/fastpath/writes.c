// Buffered writes to a file this program made: for each i, pwrite the
// 16-byte line "line NNNNNNNNNN\n" at 16*i. Reads the file back and
// prints a checksum of what it read.
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 300;
  char path[] = "/tmp/reel-fastpath-writes-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) { perror("mkstemp"); return 1; }
  unlink(path);
  for (int i = 0; i < n; i++) {
    char line[17];
    snprintf(line, sizeof line, "line %010d\n", i);
    if (pwrite(fd, line, 16, 16L * i) != 16) { perror("pwrite"); return 1; }
  }
  unsigned long sum = 0;
  for (int i = 0; i < n; i++) {
    char b[16];
    if (pread(fd, b, 16, 16L * i) != 16) { perror("pread"); return 1; }
    for (int k = 0; k < 16; k++) sum = sum * 31 + (unsigned char)b[k];
  }
  printf("writes: %d lines, checksum %lx\n", n, sum);
  printf("EXIT-SUCCESS\n");
  return 0;
}
