// reel-test: checksum
// mprotect: anonymous pages changed read-write -> read-only -> read-write,
// a protection change in the middle of a mapping (splitting it), and code
// written to a page made executable and called.
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void) {
  long pg = sysconf(_SC_PAGESIZE);
  unsigned char *p = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return 1;
  memset(p, 0x11, 4 * pg);
  if (mprotect(p, 4 * pg, PROT_READ) != 0) { perror("mprotect ro"); return 1; }
  unsigned sum = 0;
  for (long i = 0; i < 4 * pg; i++) sum += p[i];
  printf("read-only sum: %u\n", sum);
  if (mprotect(p + pg, pg, PROT_READ | PROT_WRITE) != 0) { perror("mprotect split"); return 1; }
  p[pg] = 0x22;
  printf("wrote into the middle page: %#x\n", p[pg]);
  if (mprotect(p, 4 * pg, PROT_READ | PROT_WRITE) != 0) return 1;
  memset(p + 2 * pg, 0x33, pg);
  sum = 0;
  for (long i = 0; i < 4 * pg; i++) sum += p[i];
  printf("read-write sum: %u\n", sum);

  // mov eax, 42 ; ret
  static const unsigned char code[] = {0xb8, 0x2a, 0x00, 0x00, 0x00, 0xc3};
  memcpy(p + 3 * pg, code, sizeof code);
  if (mprotect(p + 3 * pg, pg, PROT_READ | PROT_EXEC) != 0) { perror("mprotect exec"); return 1; }
  int (*fn)(void) = (int (*)(void))(void *)(p + 3 * pg);
  printf("generated code returned %d\n", fn());
  if (munmap(p, 4 * pg) != 0) return 1;
  printf("EXIT-SUCCESS\n");
  return 0;
}
