// A parent reads its child's memory while the child waits: with
// process_vm_readv and by pread(2) of /proc/CHILD/mem. What it reads is
// recorded like any read, so replay prints the same. Writing there is
// refused (process_vm_writev: ENOSYS; /proc/CHILD/mem opened for writing:
// EACCES), each with a reel: line; natively both work, so the program
// prints only whether they did what they should when they succeed.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static char secret[64];

int main(void) {
  int go[2], ready[2];
  pipe(go);
  pipe(ready);
  pid_t child = fork();
  if (child == 0) {
    strcpy(secret, "the child's own words");
    write(ready[1], "r", 1);
    char c;
    read(go[0], &c, 1);
    _exit(0);
  }
  char c;
  read(ready[0], &c, 1);
  char buf[64] = {0};
  struct iovec local = {buf, sizeof buf}, remote = {secret, sizeof secret};
  ssize_t n = process_vm_readv(child, &local, 1, &remote, 1, 0);
  printf("process_vm_readv: %zd \"%s\"\n", n, n > 0 ? buf : "");
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/mem", child);
  int fd = open(path, O_RDONLY);
  memset(buf, 0, sizeof buf);
  n = pread(fd, buf, sizeof buf, (off_t)(unsigned long)secret);
  printf("/proc/PID/mem: %zd \"%s\"\n", n, n > 0 ? buf : "");
  close(fd);
  struct iovec w = {"changed", 8};
  if (process_vm_writev(child, &w, 1, &remote, 1, 0) == 8) {
    n = process_vm_readv(child, &local, 1, &remote, 1, 0);
    if (n <= 0 || strcmp(buf, "changed") != 0)
      printf("process_vm_writev did not write\n");
  }
  write(go[1], "g", 1);
  waitpid(child, NULL, 0);
  printf("EXIT-SUCCESS\n");
  return 0;
}
