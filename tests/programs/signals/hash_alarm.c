// reel-test: varies
// SIGALRM (a one-shot ITIMER_REAL) lands in an inner hashing loop that
// hashes the same buffer again and again, as `openssl speed` does: the
// inner loop's registers repeat at every call, and the only progress is
// the outer counter, kept in memory. The handler ends the loop; the
// program prints how many hashes it made (depends on timing, hence
// `varies`), and replay must print the same.
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/time.h>

static volatile sig_atomic_t run = 1;
static volatile unsigned long count;
static unsigned char buf[1024];

static void on_alrm(int sig) {
  (void)sig;
  run = 0;
}

// noipa: the compiler must not see that the call's result is the same
// every time and hoist it out of the loop.
__attribute__((noipa)) static uint64_t hash(const unsigned char *p, size_t n) {
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < n; i++) {
    h ^= p[i];
    h *= 1099511628211ULL;
  }
  return h;
}

int main(void) {
  for (unsigned i = 0; i < sizeof buf; i++) buf[i] = (unsigned char)(i * 7);
  signal(SIGALRM, on_alrm);
  struct itimerval it = {{0, 0}, {0, 300000}};
  setitimer(ITIMER_REAL, &it, NULL);
  uint64_t h = 0;
  while (run) {
    h = hash(buf, sizeof buf);
    count++;
  }
  printf("%lu hashes, last %016llx\n", count, (unsigned long long)h);
  printf("EXIT-SUCCESS\n");
  return 0;
}
