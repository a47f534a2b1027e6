// reel-test: checksum
// A compute loop with no system calls for a while (a few hundred ms), then
// the result. Under reel it should run at nearly native speed.
#include <stdint.h>
#include <stdio.h>

int main(void) {
  uint64_t x = 88172645463325252ull, acc = 0;
  static uint32_t table[4096];
  for (uint32_t i = 0; i < 200000000u; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    table[x & 4095] += (uint32_t)(x >> 32);
    acc += x >> 60;
  }
  uint64_t h = 0;
  for (int i = 0; i < 4096; i++) h = h * 1000003u + table[i];
  printf("acc %llu hash %llu\n", (unsigned long long)acc, (unsigned long long)h);
  printf("EXIT-SUCCESS\n");
  return 0;
}
