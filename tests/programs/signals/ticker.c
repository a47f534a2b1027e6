// Prints a numbered line every 50 ms. Without arguments: 5 lines and exit.
// With a file name: writes its pid there and ticks until killed (used by
// tests/signals.rs to kill a recorded program from outside). With a second
// argument `int-handler`: SIGINT prints a line and exits with status 3
// (whatever disposition the program inherited).
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void on_int(int sig) {
  (void)sig;
  static const char msg[] = "got SIGINT\n";
  write(1, msg, sizeof msg - 1);
  _exit(3);
}

int main(int argc, char **argv) {
  if (argc > 2 && strcmp(argv[2], "int-handler") == 0) signal(SIGINT, on_int);
  // A test suite started from a background job passes SIGINT on ignored;
  // the tests that send SIGINT expect the default action.
  else if (argc > 1) signal(SIGINT, SIG_DFL);
  if (argc > 1) {
    FILE *f = fopen(argv[1], "w");
    if (!f) { perror("pidfile"); return 1; }
    fprintf(f, "%d\n", getpid());
    fclose(f);
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  for (long i = 0; argc > 1 || i < 5; i++) {
    printf("tick %ld\n", i);
    struct timespec d = {0, 50 * 1000 * 1000};
    nanosleep(&d, NULL);
  }
  printf("EXIT-SUCCESS\n");
  return 0;
}
