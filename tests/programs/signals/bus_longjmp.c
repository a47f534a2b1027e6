// reel-test: args=@tmpdir
// SIGBUS: touching a file mapping past the end of the file. The handler
// reports si_code and the offset of si_addr, then siglongjmps out.
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static sigjmp_buf env;
static char *map;
static volatile long off = -1;
static volatile int code;

static void on_bus(int sig, siginfo_t *si, void *uc) {
  off = (char *)si->si_addr - map;
  code = si->si_code;
  siglongjmp(env, 1);
}

int main(int argc, char **argv) {
  char path[4096];
  snprintf(path, sizeof path, "%s/short", argv[1]);
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || ftruncate(fd, 4096) != 0) { perror("file"); return 1; }
  map = mmap(NULL, 3 * 4096, PROT_READ, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) { perror("mmap"); return 1; }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_bus;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGBUS, &sa, NULL);
  printf("first page reads %d\n", map[100]);
  if (sigsetjmp(env, 1) == 0) {
    printf("beyond EOF reads %d\n", ((volatile char *)map)[2 * 4096 + 5]);
  } else {
    printf("SIGBUS at map+%ld si_code=%s\n", off,
           code == BUS_ADRERR ? "BUS_ADRERR" : "other");
  }
  printf("EXIT-SUCCESS\n");
  return 0;
}
