// Pipes between parent and child in both directions: request/reply round
// trips, EOF when the last writer closes, then 1 MiB through a 64 KiB pipe
// (the writer blocks, the reader must run).
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define BIG (1 << 20)

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  int down[2], up[2];
  if (pipe(down) || pipe(up)) { perror("pipe"); return 1; }
  pid_t p = fork();
  if (p == 0) {
    close(down[1]); close(up[0]);
    char buf[256];
    for (int i = 0; i < 3; i++) {
      ssize_t n = read(down[0], buf, sizeof buf);
      for (ssize_t j = 0; j < n; j++) buf[j] = toupper((unsigned char)buf[j]);
      write(up[1], buf, n);
    }
    char c;
    while (read(down[0], &c, 1) > 0) { // wait for the parent's EOF
    }
    // Then a big stream up; the parent reads it all.
    char *big = malloc(BIG);
    for (int i = 0; i < BIG; i++) big[i] = (char)(i * 7 + 3);
    for (size_t off = 0; off < BIG;) {
      ssize_t n = write(up[1], big + off, BIG - off);
      if (n <= 0) _exit(2);
      off += n;
    }
    _exit(0);
  }
  close(down[0]); close(up[1]);
  const char *msgs[] = {"hello child", "second message", "third and last"};
  char buf[256];
  for (int i = 0; i < 3; i++) {
    write(down[1], msgs[i], strlen(msgs[i]));
    ssize_t n = read(up[0], buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    printf("sent \"%s\", got \"%s\"\n", msgs[i], buf);
  }
  close(down[1]);
  size_t total = 0, reads = 0;
  unsigned long sum = 0, bad = 0;
  char chunk[8192];
  ssize_t n;
  while ((n = read(up[0], chunk, sizeof chunk)) > 0) {
    for (ssize_t j = 0; j < n; j++) {
      sum += (unsigned char)chunk[j];
      if (chunk[j] != (char)((total + j) * 7 + 3)) bad++;
    }
    total += n;
    reads++;
  }
  printf("big stream: %zu bytes, checksum %lu, %lu wrong bytes, EOF %s\n", total, sum, bad,
         n == 0 ? "yes" : "no");
  int st;
  waitpid(p, &st, 0);
  printf("child exited %d\n", WEXITSTATUS(st));
  printf("EXIT-SUCCESS\n");
  return 0;
}
