// reel-test: args=@tmpdir
// A file mapped shared, written and grown by write(2), pwrite(2) and
// ftruncate(2) while mapped: a read-only shared mapping shows the bytes the
// calls wrote (past the old end, too, where replay would fault with
// SIGBUS if its copy of the file did not grow), a mapping of a file
// shorter than a page, a writable shared mapping seen through a read-only
// one after mremap grew it, and parent and child writing in turns after a
// fork. Also mlock and madvise(MADV_DONTNEED), which fails on locked pages.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
  char path[4096];
  snprintf(path, sizeof path, "%s/shared", argc > 1 ? argv[1] : "/tmp");
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  unlink(path);
  write(fd, "short", 5);
  char *ro = mmap(NULL, 3 * 4096, PROT_READ, MAP_SHARED, fd, 0);
  printf("sub-page file: %.5s\n", ro);
  pwrite(fd, "past the old end", 16, 6000);
  ftruncate(fd, 3 * 4096);
  printf("after pwrite: %s, end %d\n", ro + 6000, ro[3 * 4096 - 1]);

  char *rw = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  rw = mremap(rw, 4096, 2 * 4096, MREMAP_MAYMOVE);
  strcpy(rw + 5000, "via the grown map");
  printf("read-only map sees: %s\n", ro + 5000);

  volatile int *turn = (volatile int *)(rw + 100);
  pid_t child = fork();
  for (int round = 0; round < 4; round++) {
    int mine = child == 0;
    while (*turn % 2 != mine)
      usleep(100);
    rw[200 + *turn] = child == 0 ? 'c' : 'p';
    (*turn)++;
  }
  if (child == 0)
    _exit(0);
  waitpid(child, NULL, 0);
  printf("turns: %.8s\n", ro + 200);

  char *priv = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  memset(priv, 'x', 2 * 4096);
  int locked = mlock(priv, 2 * 4096);
  int r = madvise(priv, 2 * 4096, MADV_DONTNEED);
  printf("mlock %d, madvise on locked pages: %d %s, kept: %c\n", locked, r,
         r ? strerror(errno) : "", priv[10]);
  munlock(priv, 2 * 4096);
  r = madvise(priv, 2 * 4096, MADV_DONTNEED);
  printf("after munlock: %d, dropped: %d\n", r, priv[10]);
  printf("EXIT-SUCCESS\n");
  return 0;
}
