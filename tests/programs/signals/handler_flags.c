// Handler flags and state: SA_NODEFER lets a handler be entered again by
// its own signal; SA_RESETHAND runs it once, then the default (ignore, for
// SIGURG) applies; vector registers (xmm0-xmm15) hold their values across
// a handler that overwrites them; rt_sigtimedwait takes a blocked pending
// signal with its siginfo.
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static volatile int depth, max_depth, resethand_runs;

static void on_usr1(int sig) {
  depth++;
  if (depth > max_depth) max_depth = depth;
  if (depth < 3) raise(sig); // enters again at once under SA_NODEFER
  depth--;
}

static void on_urg(int sig) { (void)sig; resethand_runs++; }

static void on_usr2(int sig) {
  (void)sig;
  // Overwrite every vector register the interrupted code may hold values in.
  __asm__ volatile("pcmpeqd %%xmm0, %%xmm0\n\tmovdqa %%xmm0, %%xmm1\n\t"
                   "movdqa %%xmm0, %%xmm2\n\tmovdqa %%xmm0, %%xmm3\n\t"
                   "movdqa %%xmm0, %%xmm4\n\tmovdqa %%xmm0, %%xmm5\n\t"
                   "movdqa %%xmm0, %%xmm6\n\tmovdqa %%xmm0, %%xmm7\n\t"
                   "movdqa %%xmm0, %%xmm8\n\tmovdqa %%xmm0, %%xmm9\n\t"
                   "movdqa %%xmm0, %%xmm10\n\tmovdqa %%xmm0, %%xmm11\n\t"
                   "movdqa %%xmm0, %%xmm12\n\tmovdqa %%xmm0, %%xmm13\n\t"
                   "movdqa %%xmm0, %%xmm14\n\tmovdqa %%xmm0, %%xmm15" ::
                       : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
                         "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14",
                         "xmm15");
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sa.sa_flags = SA_NODEFER;
  sigaction(SIGUSR1, &sa, NULL);
  raise(SIGUSR1);
  printf("SA_NODEFER: handler nested %d deep\n", max_depth);

  sa.sa_handler = on_urg;
  sa.sa_flags = SA_RESETHAND;
  sigaction(SIGURG, &sa, NULL);
  raise(SIGURG);
  raise(SIGURG);
  struct sigaction now;
  sigaction(SIGURG, NULL, &now);
  printf("SA_RESETHAND: handler ran %d time(s), disposition now %s\n", resethand_runs,
         now.sa_handler == SIG_DFL ? "default" : "other");

  sa.sa_handler = on_usr2;
  sa.sa_flags = 0;
  sigaction(SIGUSR2, &sa, NULL);
  unsigned char in[16][16], out[16][16];
  for (int r = 0; r < 16; r++)
    for (int b = 0; b < 16; b++) in[r][b] = (unsigned char)(r * 16 + b);
  // Load all sixteen, signal ourselves with a bare syscall (the handler
  // runs as it returns), store them: nothing else touches them between.
  long pid = getpid(), tid = gettid();
  __asm__ volatile("movdqu 0(%[in]), %%xmm0\n\t"
                   "movdqu 16(%[in]), %%xmm1\n\t"
                   "movdqu 32(%[in]), %%xmm2\n\t"
                   "movdqu 48(%[in]), %%xmm3\n\t"
                   "movdqu 64(%[in]), %%xmm4\n\t"
                   "movdqu 80(%[in]), %%xmm5\n\t"
                   "movdqu 96(%[in]), %%xmm6\n\t"
                   "movdqu 112(%[in]), %%xmm7\n\t"
                   "movdqu 128(%[in]), %%xmm8\n\t"
                   "movdqu 144(%[in]), %%xmm9\n\t"
                   "movdqu 160(%[in]), %%xmm10\n\t"
                   "movdqu 176(%[in]), %%xmm11\n\t"
                   "movdqu 192(%[in]), %%xmm12\n\t"
                   "movdqu 208(%[in]), %%xmm13\n\t"
                   "movdqu 224(%[in]), %%xmm14\n\t"
                   "movdqu 240(%[in]), %%xmm15\n\t"
                   "syscall\n\t"
                   "movdqu %%xmm0, 0(%[out])\n\t"
                   "movdqu %%xmm1, 16(%[out])\n\t"
                   "movdqu %%xmm2, 32(%[out])\n\t"
                   "movdqu %%xmm3, 48(%[out])\n\t"
                   "movdqu %%xmm4, 64(%[out])\n\t"
                   "movdqu %%xmm5, 80(%[out])\n\t"
                   "movdqu %%xmm6, 96(%[out])\n\t"
                   "movdqu %%xmm7, 112(%[out])\n\t"
                   "movdqu %%xmm8, 128(%[out])\n\t"
                   "movdqu %%xmm9, 144(%[out])\n\t"
                   "movdqu %%xmm10, 160(%[out])\n\t"
                   "movdqu %%xmm11, 176(%[out])\n\t"
                   "movdqu %%xmm12, 192(%[out])\n\t"
                   "movdqu %%xmm13, 208(%[out])\n\t"
                   "movdqu %%xmm14, 224(%[out])\n\t"
                   "movdqu %%xmm15, 240(%[out])\n\t"
                   ::[in] "r"(in), [out] "r"(out), "a"((long)SYS_tgkill), "D"(pid), "S"(tid),
                     "d"((long)SIGUSR2)
                   : "rcx", "r11", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5",
                     "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13",
                     "xmm14", "xmm15");
  printf("xmm0-xmm15 %s across the handler\n", memcmp(in, out, sizeof in) ? "CHANGED" : "kept");

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR2);
  sigprocmask(SIG_BLOCK, &set, NULL);
  union sigval v = {.sival_int = 99};
  sigqueue(getpid(), SIGUSR2, v);
  siginfo_t si;
  struct timespec ts = {5, 0};
  int got = sigtimedwait(&set, &si, &ts);
  printf("rt_sigtimedwait: %s, code %s, value %d\n", got == SIGUSR2 ? "SIGUSR2" : "other",
         si.si_code == SI_QUEUE ? "SI_QUEUE" : "other", si.si_value.sival_int);
  printf("EXIT-SUCCESS\n");
  return 0;
}
