// A burst of the calls the fast path makes in-process, on a file this
// program writes first: for each i, getppid, clock_gettime, lseek to i,
// read 8 bytes, pread 8 bytes at 2*i, fstat, access, fcntl(F_GETFL).
// Prints what it read (a checksum) so that a replay that returns other
// bytes prints something else.
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 200;
  char path[] = "/tmp/reel-fastpath-burst-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) { perror("mkstemp"); return 1; }
  unlink(path);
  char data[4096];
  for (int i = 0; i < (int)sizeof data; i++) data[i] = (char)(i * 7 + 3);
  if (write(fd, data, sizeof data) != (ssize_t)sizeof data) { perror("write"); return 1; }
  unsigned long sum = 0;
  for (int i = 0; i < n; i++) {
    char b[8];
    struct timespec ts;
    struct stat st;
    sum += getppid() > 0;
    sum += clock_gettime(CLOCK_MONOTONIC, &ts) == 0;
    if (lseek(fd, i, SEEK_SET) != i) { perror("lseek"); return 1; }
    if (read(fd, b, 8) != 8) { perror("read"); return 1; }
    for (int k = 0; k < 8; k++) sum = sum * 31 + (unsigned char)b[k];
    if (pread(fd, b, 8, 2 * i) != 8) { perror("pread"); return 1; }
    for (int k = 0; k < 8; k++) sum = sum * 31 + (unsigned char)b[k];
    if (fstat(fd, &st) != 0 || st.st_size != (off_t)sizeof data) { perror("fstat"); return 1; }
    sum += access("/", R_OK) == 0;
    sum += fcntl(fd, F_GETFL) >= 0;
  }
  printf("burst: %d rounds, checksum %lx\n", n, sum);
  printf("EXIT-SUCCESS\n");
  return 0;
}
