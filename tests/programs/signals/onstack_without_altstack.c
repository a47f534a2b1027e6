// SA_ONSTACK handlers without any sigaltstack (as Python installs its
// handlers): the handler runs on the normal stack.
#include <signal.h>
#include <stdio.h>
#include <string.h>

static volatile sig_atomic_t count;
static void on_usr1(int sig) { count++; }

int main(void) {
  stack_t cur;
  sigaltstack(NULL, &cur);
  printf("alternate stack disabled at start: %d\n", (cur.ss_flags & SS_DISABLE) != 0);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sa.sa_flags = SA_ONSTACK;
  sigaction(SIGUSR1, &sa, NULL);
  raise(SIGUSR1);
  raise(SIGUSR1);
  printf("handler ran %d times\n", count);
  printf("EXIT-SUCCESS\n");
  return 0;
}
