// reel-test: native-differs
// Clocks: clock_gettime (several clocks), gettimeofday, time. Natively the
// values change from run to run; a replay must print the recorded ones.
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

static void show(const char *name, clockid_t id) {
  struct timespec ts;
  if (clock_gettime(id, &ts) != 0) {
    printf("%s: error\n", name);
    return;
  }
  printf("%s: %lld.%09ld\n", name, (long long)ts.tv_sec, ts.tv_nsec);
}

int main(void) {
  show("realtime", CLOCK_REALTIME);
  show("monotonic", CLOCK_MONOTONIC);
  show("boottime", CLOCK_BOOTTIME);
  show("process-cputime", CLOCK_PROCESS_CPUTIME_ID);
  struct timespec res;
  clock_getres(CLOCK_MONOTONIC, &res);
  printf("monotonic resolution: %ld ns\n", res.tv_nsec);

  struct timeval tv;
  gettimeofday(&tv, NULL);
  printf("gettimeofday: %lld.%06ld\n", (long long)tv.tv_sec, (long)tv.tv_usec);
  time_t t = time(NULL);
  printf("time: %lld\n", (long long)t);
  if (llabs((long long)t - (long long)tv.tv_sec) > 2) {
    printf("time and gettimeofday disagree\n");
    return 1;
  }

  // The monotonic clock never goes backwards, also under record and replay.
  struct timespec prev, now;
  clock_gettime(CLOCK_MONOTONIC, &prev);
  for (int i = 0; i < 1000; i++) {
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec < prev.tv_sec ||
        (now.tv_sec == prev.tv_sec && now.tv_nsec < prev.tv_nsec)) {
      printf("monotonic clock went backwards at %d\n", i);
      return 1;
    }
    prev = now;
  }
  printf("last monotonic: %lld.%09ld\n", (long long)now.tv_sec, now.tv_nsec);
  printf("EXIT-SUCCESS\n");
  return 0;
}
