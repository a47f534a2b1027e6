// A memfd that holds 8 MiB of data, mapped: recorded with
// `--max-snapshot 4M` (tests/memory.rs), the mmap fails with ENOMEM and a
// `reel:` line; a smaller one maps. Natively both map.
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void try_map(const char *name, size_t len) {
  int fd = memfd_create(name, 0);
  static char buf[1 << 16];
  memset(buf, 'a', sizeof buf);
  for (size_t done = 0; done < len; done += sizeof buf)
    write(fd, buf, sizeof buf);
  char *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED)
    printf("%s: mmap failed: %s\n", name, strerror(errno));
  else
    printf("%s: mapped, last byte %c\n", name, p[len - 1]);
  close(fd);
}

int main(void) {
  try_map("large", 8 << 20);
  try_map("small", 256 << 10);
  printf("EXIT-SUCCESS\n");
  return 0;
}
