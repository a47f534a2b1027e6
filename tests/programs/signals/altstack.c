// A handler on an alternate stack (sigaltstack + SA_ONSTACK): its local
// variable lies inside the alternate stack, and SS_ONSTACK is reported
// while it runs; a second handler without SA_ONSTACK runs on the main stack.
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *alt;
static volatile int on_alt = -1, flag_onstack = -1, usr2_on_alt = -1;

static void on_usr1(int sig) {
  char local;
  on_alt = &local >= alt && &local < alt + SIGSTKSZ * 4;
  stack_t cur;
  sigaltstack(NULL, &cur);
  flag_onstack = (cur.ss_flags & SS_ONSTACK) != 0;
}

static void on_usr2(int sig) {
  char local;
  usr2_on_alt = &local >= alt && &local < alt + SIGSTKSZ * 4;
}

int main(void) {
  alt = malloc(SIGSTKSZ * 4);
  stack_t ss = {.ss_sp = alt, .ss_size = SIGSTKSZ * 4, .ss_flags = 0};
  if (sigaltstack(&ss, NULL) != 0) { perror("sigaltstack"); return 1; }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sa.sa_flags = SA_ONSTACK;
  sigaction(SIGUSR1, &sa, NULL);
  sa.sa_handler = on_usr2;
  sa.sa_flags = 0;
  sigaction(SIGUSR2, &sa, NULL);
  raise(SIGUSR1);
  raise(SIGUSR2);
  printf("SA_ONSTACK handler: local inside altstack=%d, SS_ONSTACK=%d\n", on_alt, flag_onstack);
  printf("plain handler: local inside altstack=%d\n", usr2_on_alt);
  stack_t after;
  sigaltstack(NULL, &after);
  printf("after: SS_ONSTACK=%d SS_DISABLE=%d\n", (after.ss_flags & SS_ONSTACK) != 0,
         (after.ss_flags & SS_DISABLE) != 0);
  printf("EXIT-SUCCESS\n");
  return 0;
}
