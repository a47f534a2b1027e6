// reel-test: args=@tmpdir
// Huge sparse files mapped: a 100 GiB file with three pages of data (two
// written, one written through a shared mapping) and a 1 TiB memfd with
// one byte. reel snapshots what they hold, not their size: the trace stays
// small (tests/memory.rs checks it) and the replay reads the same bytes.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define GiB (1ULL << 30)

int main(int argc, char **argv) {
  char path[4096];
  snprintf(path, sizeof path, "%s/big", argc > 1 ? argv[1] : "/tmp");
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || ftruncate(fd, 100 * GiB) != 0) {
    perror("sparse file");
    return 1;
  }
  pwrite(fd, "start", 5, 0);
  pwrite(fd, "middle", 6, 50 * GiB);
  char *p = mmap(NULL, 100 * GiB, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) {
    perror("mmap");
    return 1;
  }
  memcpy(p + 70 * GiB, "through the map", 16);
  printf("file: %.5s %.6s %s [%d]\n", p, p + 50 * GiB, p + 70 * GiB, p[90 * GiB]);
  munmap(p, 100 * GiB);
  char *q = mmap(NULL, 100 * GiB, PROT_READ, MAP_PRIVATE, fd, 0);
  printf("again: %s\n", q + 70 * GiB);
  munmap(q, 100 * GiB);
  close(fd);
  unlink(path);

  int m = memfd_create("huge", 0);
  if (m < 0 || ftruncate(m, 1024 * GiB) != 0) {
    perror("memfd");
    return 1;
  }
  write(m, "x", 1);
  char *r = mmap(NULL, 1024 * GiB, PROT_READ, MAP_SHARED, m, 0);
  char *s = mmap(NULL, 1024 * GiB, PROT_READ, MAP_PRIVATE, m, 0);
  if (r == MAP_FAILED || s == MAP_FAILED) {
    perror("mmap memfd");
    return 1;
  }
  printf("memfd: %c %c [%d %d]\n", r[0], s[0], r[512 * GiB], s[1023 * GiB]);
  printf("EXIT-SUCCESS\n");
  return 0;
}
