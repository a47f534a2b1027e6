// Output to both stdout and stderr, interleaved, through stdio and write(2).
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  for (int i = 0; i < 5; i++) {
    printf("stdout line %d\n", i);
    fprintf(stderr, "stderr line %d\n", i);
  }
  const char out[] = "raw write to fd 1\n", err[] = "raw write to fd 2\n";
  write(1, out, strlen(out));
  write(2, err, strlen(err));
  // A partial line on stderr, completed by a second write.
  write(2, "partial ", 8);
  write(2, "line\n", 5);
  perror("perror with errno 0");
  printf("EXIT-SUCCESS\n");
  return 0;
}
