// A SIGSEGV handler that fixes the cause (mprotect the page writable) and
// returns: the faulting store is retried and succeeds.
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

static char *page;
static volatile sig_atomic_t faults;
static volatile long addr_off = -1;
static volatile int code;

static void on_segv(int sig, siginfo_t *si, void *uc) {
  faults++;
  addr_off = (char *)si->si_addr - page;
  code = si->si_code;
  mprotect(page, 4096, PROT_READ | PROT_WRITE);
}

int main(void) {
  page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGSEGV, &sa, NULL);
  ((volatile char *)page)[123] = 42;
  printf("faults=%d si_addr=page+%ld si_code=%s value=%d\n", faults, addr_off,
         code == SEGV_ACCERR ? "SEGV_ACCERR" : "other", page[123]);
  mprotect(page, 4096, PROT_READ);
  ((volatile char *)page)[7] = 1;
  printf("faults=%d si_addr=page+%ld value=%d\n", faults, addr_off, page[7]);
  printf("EXIT-SUCCESS\n");
  return 0;
}
