// Memory shared two ways, written in a long loop: an anonymous shared
// mapping and a file mapped shared (two running totals, the second ten
// times the first). gdb tests go back from one call of add() to the
// previous one, from a checkpoint, and print both: a checkpoint made by
// fork shares these pages with the live replay, so reel must copy them.
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static long *anon;
static long *mapped;

__attribute__((noinline)) long add(long x) {
  anon[0] += x;
  mapped[0] += x * 10;
  return anon[0];
}

int main(void) {
  anon = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  char path[] = "/tmp/reel-gdb-shared-XXXXXX";
  int fd = mkstemp(path);
  if (anon == MAP_FAILED || fd < 0 || ftruncate(fd, 4096) != 0) return 1;
  mapped = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  unlink(path);
  close(fd);
  if (mapped == MAP_FAILED) return 1;
  for (long i = 1; i <= 600; i++)
    if (getppid() > 0) add(i);
  printf("anon %ld mapped %ld\n", anon[0], mapped[0]);
  printf("EXIT-SUCCESS\n");
  return 0;
}
