// reel-test: args=@tmpdir
// File I/O in a directory the harness creates: open/create, write, lseek,
// read back, pread, fstat, rename, unlink. Prints no paths, so the output is
// the same on every run.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHECK(c) do { if (!(c)) { printf("FAILED: %s (line %d)\n", #c, __LINE__); return 1; } } while (0)

int main(int argc, char **argv) {
  CHECK(argc == 2);
  CHECK(chdir(argv[1]) == 0);
  int fd = open("a.txt", O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0644);
  CHECK(fd >= 0);
  const char line[] = "the quick brown fox jumps over the lazy dog\n";
  size_t len = strlen(line);
  for (int i = 0; i < 100; i++) CHECK(write(fd, line, len) == (ssize_t)len);
  printf("wrote %zu bytes\n", 100 * len);

  CHECK(lseek(fd, 0, SEEK_CUR) == (off_t)(100 * len));
  CHECK(lseek(fd, 0, SEEK_SET) == 0);
  char buf[8192];
  ssize_t n = read(fd, buf, sizeof buf);
  printf("read back %zd bytes\n", n);
  CHECK(n == (ssize_t)(100 * len));
  for (int i = 0; i < 100; i++) CHECK(memcmp(buf + i * len, line, len) == 0);

  char small[16] = {0};
  CHECK(pread(fd, small, 9, 10) == 9);
  printf("pread at 10: '%s'\n", small);
  CHECK(lseek(fd, -4, SEEK_END) == (off_t)(100 * len - 4));
  memset(small, 0, sizeof small);
  CHECK(read(fd, small, sizeof small) == 4);
  printf("last 4 bytes: '%.3s'\n", small);
  CHECK(read(fd, small, sizeof small) == 0);
  printf("read at EOF: 0\n");

  struct stat st;
  CHECK(fstat(fd, &st) == 0);
  printf("fstat: size %lld, regular %d, mode %o\n", (long long)st.st_size,
         S_ISREG(st.st_mode), st.st_mode & 0777);
  CHECK(ftruncate(fd, 10) == 0);
  CHECK(fstat(fd, &st) == 0 && st.st_size == 10);
  printf("truncated to %lld\n", (long long)st.st_size);
  CHECK(close(fd) == 0);

  CHECK(rename("a.txt", "b.txt") == 0);
  CHECK(access("a.txt", F_OK) != 0);
  CHECK(stat("b.txt", &st) == 0 && st.st_size == 10);
  printf("renamed, b.txt has %lld bytes\n", (long long)st.st_size);
  CHECK(unlink("b.txt") == 0);
  CHECK(stat("b.txt", &st) != 0);
  printf("unlinked\n");
  printf("EXIT-SUCCESS\n");
  return 0;
}
