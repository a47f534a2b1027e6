// Scatter/gather I/O: writev to stdout and stderr, and writev/readv through a
// pipe inside the process.
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

int main(void) {
  struct iovec out[3] = {
      {"writev: ", 8}, {"three pieces, ", 14}, {"one line\n", 9}};
  ssize_t n = writev(1, out, 3);
  printf("writev returned %zd\n", n);
  struct iovec err[2] = {{"stderr ", 7}, {"via writev\n", 11}};
  if (writev(2, err, 2) != 18) return 1;

  int p[2];
  if (pipe(p) != 0) return 1;
  struct iovec in[2] = {{"abcdefgh", 8}, {"ijklmnopqrstuvwxyz", 18}};
  ssize_t w = writev(p[1], in, 2);
  char a[5] = {0}, b[10] = {0}, c[32] = {0};
  struct iovec rd[3] = {{a, 4}, {b, 9}, {c, 31}};
  ssize_t r = readv(p[0], rd, 3);
  printf("pipe: wrote %zd, read %zd: '%s' '%s' '%s'\n", w, r, a, b, c);
  close(p[0]);
  close(p[1]);
  // An empty iovec and a zero-length writev.
  struct iovec none[2] = {{"", 0}, {"x\n", 2}};
  fflush(stdout);
  n = writev(1, none, 2);
  printf("with empty piece: %zd\n", n);
  fflush(stdout);
  n = writev(1, none, 1);
  printf("zero-length writev: %zd\n", n);
  printf("EXIT-SUCCESS\n");
  return 0;
}
