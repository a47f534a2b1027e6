// reel-test: native-differs
// Randomness: getrandom(2), /dev/urandom, and rand() seeded by the clock.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static void hex(const char *name, const unsigned char *b, size_t n) {
  printf("%s: ", name);
  for (size_t i = 0; i < n; i++) printf("%02x", b[i]);
  printf("\n");
}

int main(void) {
  unsigned char buf[32];
  ssize_t n = getrandom(buf, sizeof buf, 0);
  if (n != (ssize_t)sizeof buf) {
    printf("getrandom returned %zd\n", n);
    return 1;
  }
  hex("getrandom", buf, sizeof buf);

  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    perror("open /dev/urandom");
    return 1;
  }
  n = read(fd, buf, 16);
  close(fd);
  if (n != 16) {
    printf("read /dev/urandom returned %zd\n", n);
    return 1;
  }
  hex("urandom", buf, 16);

  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  srand((unsigned)(ts.tv_sec ^ ts.tv_nsec));
  printf("rand:");
  for (int i = 0; i < 5; i++) printf(" %d", rand());
  printf("\n");
  printf("EXIT-SUCCESS\n");
  return 0;
}
