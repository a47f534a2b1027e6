// reel-test: checksum
// Heap growth: malloc many sizes (brk and mmap), touch every byte, realloc,
// free, and print a checksum of the contents (no addresses).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define N 2000

int main(void) {
  static unsigned char *blocks[N];
  static size_t sizes[N];
  void *brk0 = sbrk(0);
  unsigned long sum = 0, total = 0;
  unsigned x = 12345;
  for (int i = 0; i < N; i++) {
    x = x * 1103515245u + 12345u;
    size_t sz = (i % 100 == 99) ? 200000 + (x % 300000) : 1 + (x % 4000);
    blocks[i] = malloc(sz);
    if (!blocks[i]) { printf("malloc failed\n"); return 1; }
    sizes[i] = sz;
    for (size_t j = 0; j < sz; j++) blocks[i][j] = (unsigned char)(i + j);
    total += sz;
  }
  for (int i = 0; i < N; i += 2) { free(blocks[i]); blocks[i] = NULL; }
  for (int i = 1; i < N; i += 2) {
    size_t nsz = sizes[i] * 2;
    unsigned char *p = realloc(blocks[i], nsz);
    if (!p) return 1;
    memset(p + sizes[i], 0x5a, nsz - sizes[i]);
    blocks[i] = p;
    sizes[i] = nsz;
  }
  for (int i = 1; i < N; i += 2)
    for (size_t j = 0; j < sizes[i]; j++) sum = sum * 33 + blocks[i][j];
  void *brk1 = sbrk(0);
  printf("allocated %lu bytes in %d blocks\n", total, N);
  printf("checksum %lu\n", sum);
  printf("program break grew: %s\n", brk1 > brk0 ? "yes" : "no");
  for (int i = 1; i < N; i += 2) free(blocks[i]);
  printf("EXIT-SUCCESS\n");
  return 0;
}
