// reel-test: args=@tmpfile
// reel-test: mutate-after-record
// Maps the file named by argv[1] and prints its contents. The harness
// rewrites the file in place, then deletes it, after recording: each replay
// must still print the recorded contents (served from the trace's snapshot).
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
  if (fd < 0) { perror("open"); return 1; }
  struct stat st;
  if (fstat(fd, &st) != 0) { perror("fstat"); return 1; }
  size_t len = (size_t)st.st_size;
  printf("size: %zu\n", len);
  const unsigned char *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED) { perror("mmap"); return 1; }
  // A second, writable private mapping of the same file: copy-on-write.
  unsigned char *w = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  if (w == MAP_FAILED) { perror("mmap rw"); return 1; }
  close(fd);

  unsigned long sum = 0;
  for (size_t i = 0; i < len; i++) sum = sum * 31 + p[i];
  printf("checksum: %lu\n", sum);
  printf("--- contents ---\n");
  fwrite(p, 1, len, stdout);
  printf("--- end ---\n");

  w[0] = '#';
  printf("private write: mapping has '%c', read-only mapping has '%c'\n", w[0], p[0]);
  munmap((void *)p, len);
  munmap(w, len);
  printf("EXIT-SUCCESS\n");
  return 0;
}
