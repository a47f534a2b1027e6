// Unbounded recursion overflows the stack; the SIGSEGV handler runs on an
// alternate stack and siglongjmps back to main. The depth reached depends on
// the stack limit, so only coarse facts are printed.
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static sigjmp_buf env;
static volatile long depth;
static volatile int on_alt = -1;
static char *alt;

static void on_segv(int sig) {
  char local;
  on_alt = &local >= alt && &local < alt + 65536;
  siglongjmp(env, 1);
}

static long recurse(long n) {
  volatile char pad[512];
  pad[0] = (char)n;
  depth = n;
  if (n < 0) return 0;
  return recurse(n + 1) + pad[0];
}

int main(void) {
  struct rlimit rl = {1 << 20, 1 << 20}; // 1 MiB stack: a quick overflow
  setrlimit(RLIMIT_STACK, &rl);
  alt = malloc(65536);
  stack_t ss = {.ss_sp = alt, .ss_size = 65536, .ss_flags = 0};
  sigaltstack(&ss, NULL);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_segv;
  sa.sa_flags = SA_ONSTACK;
  sigaction(SIGSEGV, &sa, NULL);
  if (sigsetjmp(env, 1) == 0) {
    recurse(0);
    printf("not reached\n");
  }
  printf("overflow caught: handler on altstack=%d, depth > 1000: %d\n", on_alt, depth > 1000);
  printf("EXIT-SUCCESS\n");
  return 0;
}
