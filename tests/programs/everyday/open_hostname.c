// Opens /etc/hostname, reads it and prints how many bytes it read: `reel
// dump` of its trace must name the file it opened.
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(void) {
  int fd = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    perror("open");
    return 1;
  }
  char buf[256];
  ssize_t n = read(fd, buf, sizeof buf);
  close(fd);
  // A write the dump shows with -s.
  printf("read %zd bytes\n", n);
  return 0;
}
