// reel-test: exit=3
// Exits with status 3 on purpose; reel record and reel replay must too.
#include <stdio.h>
#include <stdlib.h>

int main(void) {
  printf("exiting with status 3\n");
  exit(3);
}
