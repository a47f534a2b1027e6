// timerfd: a periodic 20 ms timer read while the process sleeps; the
// expiration counts (printed) depend on timing, so only the shape is
// compared with native, but replay must match the recording exactly.
// reel-test: varies
#include <stdint.h>
#include <stdio.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

int main(void) {
  int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
  if (fd < 0) { perror("timerfd_create"); return 1; }
  struct itimerspec its = {{0, 20000000}, {0, 20000000}};
  timerfd_settime(fd, 0, &its, NULL);
  uint64_t total = 0;
  for (int i = 0; i < 4; i++) {
    usleep(45000);
    uint64_t n = 0;
    ssize_t r = read(fd, &n, sizeof n);
    total += n;
    printf("read %zd bytes: %llu expirations\n", r, (unsigned long long)n);
  }
  struct itimerspec cur;
  timerfd_gettime(fd, &cur);
  printf("total >= 6: %d, interval %ld ns\n", total >= 6, cur.it_interval.tv_nsec);
  printf("EXIT-SUCCESS\n");
  return 0;
}
