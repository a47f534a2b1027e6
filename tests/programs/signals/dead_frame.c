// reel-test: varies
// After a SIGALRM handler returned, reads the frame the kernel wrote for it
// (now dead memory below the stack pointer) and prints how many of its
// first 256 bytes are not zero. Natively they hold the saved context; reel
// clears a dead frame at rt_sigreturn in record and replay alike (its
// XSAVE header and fault address differ from run to run, and a later
// landmark's digest may cover them), so under reel it prints 0.
#include <signal.h>
#include <stdio.h>
#include <sys/time.h>

static volatile sig_atomic_t done;
static volatile unsigned long spins;
static void *volatile frame_at;

static void on_alrm(int sig, siginfo_t *si, void *uc) {
  (void)sig;
  (void)si;
  frame_at = uc;
  done = 1;
}

__attribute__((noinline)) static int nonzero_bytes(void) {
  const volatile unsigned char *p = frame_at;
  int n = 0;
  for (int i = 0; i < 256; i++) n += p[i] != 0;
  return n;
}

int main(void) {
  struct sigaction sa = {0};
  sa.sa_sigaction = on_alrm;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGALRM, &sa, 0);
  struct itimerval it = {{0, 0}, {0, 20000}};
  setitimer(ITIMER_REAL, &it, NULL);
  while (!done) spins++;
  printf("nonzero bytes in the dead frame: %d\n", nonzero_bytes());
  printf("EXIT-SUCCESS\n");
  return 0;
}
