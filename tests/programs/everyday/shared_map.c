// Maps a file shared and writable, and prints what it wrote there:
// - `shared_map own`: a file it creates itself (mkstemp in /dev/shm, as
//   sem_open and Python's multiprocessing do), which nobody else knows;
// - `shared_map new FILE`: FILE, created with O_CREAT (without O_EXCL);
// - `shared_map FILE`: FILE, opened with O_CREAT too (existing or not).
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  int fd;
  char name[] = "/dev/shm/reel-test-XXXXXX";
  int own = strcmp(argv[1], "own") == 0;
  if (own) {
    fd = mkstemp(name);
  } else if (strcmp(argv[1], "new") == 0 && argc > 2) {
    fd = open(argv[2], O_RDWR | O_CREAT, 0600);
  } else {
    fd = open(argv[1], O_RDWR | O_CREAT, 0600);
  }
  if (fd < 0 || ftruncate(fd, 4096) != 0) {
    perror("open");
    return 1;
  }
  char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) {
    perror("mmap");
    return 1;
  }
  strcpy(p, "hello through the mapping");
  printf("%s\n", p);
  munmap(p, 4096);
  close(fd);
  if (own) unlink(name);
  return 0;
}
