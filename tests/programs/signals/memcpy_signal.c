// reel-test: native-differs
// A 10 ms timer fires while the program copies 100 MB with memcpy over
// and over (no syscall in between), from two sources of different bytes in
// turn. The handler notes which copy was under way and how far into the
// buffer it had got (how many bytes hold that copy's byte already). Under reel the signal goes in where
// reel interrupted the copy, at a landmark; the replay must deliver it at
// the same point of the same copy.
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#define SIZE (100u << 20)
static unsigned char *src[2], *dst;
static volatile unsigned long copies;
static volatile sig_atomic_t fired;
static volatile unsigned long seen_copy, seen_offset;

static void on_alrm(int sig) {
  (void)sig;
  unsigned char mark = (unsigned char)(copies % 2 + 1);
  unsigned long done = 0;
  for (unsigned long i = 0; i < SIZE; i++) done += dst[i] == mark;
  seen_copy = copies;
  seen_offset = done;
  fired = 1;
}

int main(void) {
  src[0] = malloc(SIZE);
  src[1] = malloc(SIZE);
  dst = malloc(SIZE);
  if (!src[0] || !src[1] || !dst) return 1;
  memset(src[0], 1, SIZE);
  memset(src[1], 2, SIZE);
  memset(dst, 0, SIZE);
  signal(SIGALRM, on_alrm);
  struct itimerval it = {{0, 0}, {0, 10000}};
  setitimer(ITIMER_REAL, &it, NULL);
  while (!fired) {
    memcpy(dst, src[copies % 2], SIZE);
    copies++;
  }
  printf("signal during copy %lu with %lu bytes copied\n", seen_copy, seen_offset);
  printf("EXIT-SUCCESS\n");
  return 0;
}
