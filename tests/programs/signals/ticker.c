// Prints a numbered line every 50 ms. Without arguments: 5 lines and exit.
// With a file name: writes its pid there and ticks until killed (used by
// tests/signals.rs to kill a recorded program from outside).
#include <stdio.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
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
