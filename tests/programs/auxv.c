// reel-test: native-differs
// The auxiliary vector: AT_RANDOM bytes (differ every run), AT_PAGESZ,
// AT_HWCAP, and AT_SYSINFO_EHDR (the vDSO: reel keeps it, rewritten to make
// real syscalls, so it is there under reel too).
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>

int main(void) {
  const unsigned char *r = (const unsigned char *)getauxval(AT_RANDOM);
  printf("AT_RANDOM:");
  if (r) {
    printf(" ");
    for (int i = 0; i < 16; i++) printf("%02x", r[i]);
  } else {
    printf(" (null)");
  }
  printf("\n");
  printf("AT_PAGESZ: %lu\n", getauxval(AT_PAGESZ));
  printf("AT_HWCAP: %#lx\n", getauxval(AT_HWCAP));
  printf("AT_HWCAP2: %#lx\n", getauxval(AT_HWCAP2));
  printf("AT_CLKTCK: %lu\n", getauxval(AT_CLKTCK));
  printf("AT_SECURE: %lu\n", getauxval(AT_SECURE));
  const char *plat = (const char *)getauxval(AT_PLATFORM);
  printf("AT_PLATFORM: %s\n", plat ? plat : "(none)");
  const char *fn = (const char *)getauxval(AT_EXECFN);
  const char *base = fn ? strrchr(fn, '/') : NULL;
  printf("AT_EXECFN ends with: %s\n", base ? base + 1 : (fn ? fn : "(none)"));
  unsigned long vdso = getauxval(AT_SYSINFO_EHDR);
  printf("AT_SYSINFO_EHDR is 0: %s\n", vdso == 0 ? "yes" : "no");
  printf("EXIT-SUCCESS\n");
  return 0;
}
