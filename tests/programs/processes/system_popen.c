// system() and popen() (both run /bin/sh -c): statuses, reading a command's
// output, writing to a command's input.
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  int st = system("echo '  from system()'; exit 3");
  printf("system: exited %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
  st = system("kill -TERM $$");
  printf("system, shell killed: signaled %s\n",
         WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM ? "SIGTERM" : "other");
  printf("system(NULL) says a shell exists: %s\n", system(NULL) ? "yes" : "no");

  FILE *f = popen("printf 'line one\\nline two\\n'; echo to-stderr >&2", "r");
  char line[128];
  while (fgets(line, sizeof line, f)) printf("popen read: %s", line);
  st = pclose(f);
  printf("pclose: exited %d\n", WEXITSTATUS(st));

  f = popen("tr a-z A-Z | sed 's/^/  upper: /'", "w");
  fprintf(f, "written to popen\nsecond line\n");
  st = pclose(f);
  printf("pclose (w): exited %d\n", WEXITSTATUS(st));

  f = popen("exit 5", "r");
  st = pclose(f);
  printf("pclose of exit 5: %d\n", WEXITSTATUS(st));
  printf("EXIT-SUCCESS\n");
  return 0;
}
