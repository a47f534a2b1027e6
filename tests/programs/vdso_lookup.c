// reel-test: native-differs
// A program that finds the vDSO itself (as Go's runtime does): it reads
// AT_SYSINFO_EHDR, walks the ELF dynamic symbols for the time and cpu
// functions and calls them. Under reel the vDSO must still be there, and
// what its functions return must be what the recording saw.
#define _GNU_SOURCE
#include <elf.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/time.h>
#include <time.h>

static const Elf64_Ehdr *eh;
static unsigned long bias;

static void *lookup(const char *want) {
  const Elf64_Phdr *ph = (const void *)((const char *)eh + eh->e_phoff);
  const Elf64_Dyn *dyn = NULL;
  for (int i = 0; i < eh->e_phnum; i++) {
    if (ph[i].p_type == PT_LOAD && ph[i].p_offset == 0)
      bias = (unsigned long)eh - ph[i].p_vaddr;
    if (ph[i].p_type == PT_DYNAMIC) dyn = (const void *)(ph[i].p_vaddr);
  }
  if (!dyn) return NULL;
  dyn = (const void *)((unsigned long)dyn + bias);
  const Elf64_Sym *sym = NULL;
  const char *str = NULL;
  const Elf32_Word *hash = NULL;
  for (; dyn->d_tag != DT_NULL; dyn++) {
    if (dyn->d_tag == DT_SYMTAB) sym = (const void *)(dyn->d_un.d_ptr + bias);
    if (dyn->d_tag == DT_STRTAB) str = (const void *)(dyn->d_un.d_ptr + bias);
    if (dyn->d_tag == DT_HASH) hash = (const void *)(dyn->d_un.d_ptr + bias);
  }
  if (!sym || !str || !hash) return NULL;
  for (Elf32_Word i = 0; i < hash[1]; i++)
    if (ELF64_ST_TYPE(sym[i].st_info) == STT_FUNC && sym[i].st_value &&
        strcmp(str + sym[i].st_name, want) == 0)
      return (void *)(sym[i].st_value + bias);
  return NULL;
}

int main(void) {
  eh = (const void *)getauxval(AT_SYSINFO_EHDR);
  if (!eh) {
    printf("no vDSO in the auxv\n");
    return 1;
  }
  int (*cgt)(clockid_t, struct timespec *) = lookup("__vdso_clock_gettime");
  int (*gtod)(struct timeval *, void *) = lookup("__vdso_gettimeofday");
  long (*tm)(long *) = lookup("__vdso_time");
  int (*gcpu)(unsigned *, unsigned *, void *) = lookup("__vdso_getcpu");
  if (!cgt || !gtod || !tm || !gcpu) {
    printf("a vDSO function is missing\n");
    return 1;
  }
  struct timespec ts;
  struct timeval tv;
  unsigned cpu = 0, node = 0;
  int r1 = cgt(CLOCK_MONOTONIC, &ts);
  printf("clock_gettime: %d %ld.%09ld\n", r1, (long)ts.tv_sec, ts.tv_nsec);
  int r2 = gtod(&tv, NULL);
  printf("gettimeofday: %d %ld.%06ld\n", r2, (long)tv.tv_sec, (long)tv.tv_usec);
  long t = tm(NULL);
  printf("time: %ld (near gettimeofday: %s)\n", t, t - tv.tv_sec <= 1 ? "yes" : "no");
  int r3 = gcpu(&cpu, &node, NULL);
  printf("getcpu: %d\n", r3);
  struct timespec ts2;
  clock_gettime(CLOCK_MONOTONIC, &ts2);
  printf("libc clock_gettime moves on: %s\n",
         ts2.tv_sec > ts.tv_sec || (ts2.tv_sec == ts.tv_sec && ts2.tv_nsec >= ts.tv_nsec) ? "yes" : "no");
  printf("EXIT-SUCCESS\n");
  return 0;
}
