// reel-test: exit=141
// Writing to a pipe with no reader and SIGPIPE's default action: death,
// status 141.
#include <stdio.h>
#include <unistd.h>

int main(void) {
  int p[2];
  pipe(p);
  close(p[0]);
  printf("writing to a closed pipe\n");
  fflush(stdout);
  write(p[1], "x", 1);
  printf("still alive?\n");
  return 0;
}
