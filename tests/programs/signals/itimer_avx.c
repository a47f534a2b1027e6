// reel-test: native-differs
// Like itimer_tight, with AVX registers live: the compute loop keeps four
// running sums in a ymm register, and the handler saves the loop counter
// at each tick. A landmark must pin the vector state too: the replay prints
// the recorded counters and the recorded final sums.
#include <immintrin.h>
#include <signal.h>
#include <stdio.h>
#include <sys/time.h>

#define N 6
static volatile unsigned long counter;
static volatile unsigned long seen[N];
static volatile sig_atomic_t ticks;

static void on_alrm(int sig) {
  (void)sig;
  if (ticks < N) seen[ticks] = counter;
  ticks++;
}

__attribute__((target("avx"))) static void compute(double out[4]) {
  __m256d acc = _mm256_set_pd(1.0, 2.0, 3.0, 4.0);
  const __m256d mul = _mm256_set1_pd(1.0000001);
  const __m256d add = _mm256_set_pd(0.5, 0.25, 0.125, 0.0625);
  while (ticks < N) {
    acc = _mm256_add_pd(_mm256_mul_pd(acc, mul), add);
    counter++;
  }
  _mm256_storeu_pd(out, acc);
}

int main(void) {
  signal(SIGALRM, on_alrm);
  struct itimerval it = {{0, 2000}, {0, 2000}};
  setitimer(ITIMER_REAL, &it, NULL);
  double out[4];
  compute(out);
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, NULL);
  for (int i = 0; i < N; i++) printf("tick %d saw counter %lu\n", i, seen[i]);
  printf("sums %.17g %.17g %.17g %.17g, counter %lu\n", out[0], out[1], out[2], out[3], counter);
  printf("EXIT-SUCCESS\n");
  return 0;
}
