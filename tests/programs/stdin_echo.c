// reel-test: stdin=hello world\nsecond line\n\nlast line without newline
// Reads stdin to EOF (the harness supplies it) and echoes each line upper-cased
// and reversed, with byte and line counts.
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void) {
  char buf[4096];
  size_t total = 0;
  ssize_t n;
  // Small reads, so that there are several read events.
  while ((n = read(0, buf + total, 7)) > 0) {
    total += (size_t)n;
    if (total + 7 > sizeof buf) break;
  }
  if (n < 0) { perror("read"); return 1; }
  printf("read %zu bytes\n", total);
  int lines = 0;
  size_t start = 0;
  for (size_t i = 0; i <= total; i++) {
    if (i == total || buf[i] == '\n') {
      if (i == total && start == total) break;
      printf("line %d: '", ++lines);
      for (size_t j = i; j > start; j--) putchar(toupper((unsigned char)buf[j - 1]));
      printf("'\n");
      start = i + 1;
    }
  }
  printf("%d lines\n", lines);
  // Reading again at EOF returns 0.
  printf("read at EOF: %zd\n", read(0, buf, sizeof buf));
  printf("EXIT-SUCCESS\n");
  return 0;
}
