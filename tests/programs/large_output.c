// Large output: about 1 MiB written to stdout in 16384 write(2) calls of
// 64 bytes, then a checksum of everything written.
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void) {
  char line[65];
  unsigned long sum = 0, total = 0;
  for (int i = 0; i < 16384; i++) {
    int n = snprintf(line, sizeof line, "%08d ", i);
    for (; n < 63; n++) line[n] = (char)('a' + (i + n) % 26);
    line[63] = '\n';
    size_t off = 0;
    while (off < 64) {
      ssize_t w = write(1, line + off, 64 - off);
      if (w <= 0) { perror("write"); return 1; }
      off += (size_t)w;
    }
    for (int j = 0; j < 64; j++) sum = sum * 131 + (unsigned char)line[j];
    total += 64;
  }
  printf("wrote %lu bytes, checksum %lu\n", total, sum);
  printf("EXIT-SUCCESS\n");
  return 0;
}
