// A loop calls a function ten times and reads a file into a buffer:
// gdb tests count breakpoint hits, print variables and watch the buffer
// the kernel fills (an emulated read()).
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

long total;
char buf[16];

__attribute__((noinline)) long add(long x) {
  total += x * x;
  return total;
}

int main(void) {
  for (long i = 1; i <= 10; i++) add(i);
  int fd = open("/proc/self/cmdline", O_RDONLY);
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  printf("total %ld, read %zd\n", total, n > 0 ? 1L : 0L);
  printf("EXIT-SUCCESS\n");
  return 0;
}
