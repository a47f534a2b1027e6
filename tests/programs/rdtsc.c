// reel-test: native-differs
// The time stamp counter read with RDTSC and RDTSCP (inline asm, no syscall).
// reel traps them (PR_SET_TSC) and records the values.
#include <stdint.h>
#include <stdio.h>

static inline uint64_t rdtsc(void) {
  uint32_t lo, hi;
  __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return ((uint64_t)hi << 32) | lo;
}

static inline uint64_t rdtscp(uint32_t *aux) {
  uint32_t lo, hi;
  __asm__ volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(*aux));
  return ((uint64_t)hi << 32) | lo;
}

int main(void) {
  uint64_t a = rdtsc();
  uint32_t aux;
  uint64_t b = rdtscp(&aux);
  uint64_t c = rdtsc();
  printf("rdtsc: %llu\n", (unsigned long long)a);
  printf("rdtscp: %llu (aux %u)\n", (unsigned long long)b, aux);
  printf("rdtsc: %llu\n", (unsigned long long)c);
  if (!(a <= b && b <= c)) {
    printf("TSC went backwards\n");
    return 1;
  }
  // Many reads in a loop: each one traps under reel.
  uint64_t prev = c, sum = 0;
  for (int i = 0; i < 500; i++) {
    uint64_t t = (i & 1) ? rdtscp(&aux) : rdtsc();
    if (t < prev) {
      printf("TSC went backwards at %d\n", i);
      return 1;
    }
    sum += t - prev;
    prev = t;
  }
  printf("500 reads spanned %llu ticks, last %llu\n", (unsigned long long)sum,
         (unsigned long long)prev);
  printf("EXIT-SUCCESS\n");
  return 0;
}
