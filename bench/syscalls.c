// Benchmark: syscall-heavy. 200k getppid() and 200k read() of 64 bytes from
// /dev/zero, then one line of output.
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(void) {
  int fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
  if (fd < 0) { perror("open /dev/zero"); return 1; }
  char buf[64];
  long sum = 0;
  for (int i = 0; i < 200000; i++) {
    sum += getppid() > 0;
    if (read(fd, buf, sizeof buf) != (ssize_t)sizeof buf) { perror("read"); return 1; }
    sum += buf[i % 64];
  }
  close(fd);
  printf("syscalls: %ld\n", sum);
  return 0;
}
