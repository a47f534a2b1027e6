// System V shared memory: a segment (not a whole number of pages) attached
// before a fork is written by parent and child in turn; a second attach
// sees the same bytes; a read-only attach, IPC_STAT, shmdt, a part
// unmapped before shmdt, and re-attaching at a fixed address with
// SHM_REMAP. Replay maps a file of its own per segment where each attach
// was.
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#define SIZE (3 * 4096 - 10)

int main(void) {
  int id = shmget(IPC_PRIVATE, SIZE, IPC_CREAT | 0600);
  if (id < 0) {
    perror("shmget");
    return 1;
  }
  volatile char *p = shmat(id, NULL, 0);
  if (p == (void *)-1) {
    perror("shmat");
    return 1;
  }
  struct shmid_ds ds;
  shmctl(id, IPC_STAT, &ds);
  printf("size %zu, attached %lu\n", (size_t)ds.shm_segsz, (unsigned long)ds.shm_nattch);
  // Parent and child take turns through a word in the segment.
  volatile int *turn = (volatile int *)(p + SIZE - 16);
  pid_t child = fork();
  for (int round = 0; round < 5; round++) {
    int mine = child == 0 ? 1 : 0;
    while (*turn % 2 != mine)
      usleep(100);
    p[100 + *turn] = child == 0 ? 'c' : 'p';
    (*turn)++;
  }
  if (child == 0)
    _exit(0);
  waitpid(child, NULL, 0);
  printf("written in turns: %.10s\n", (char *)p + 100);

  char *q = shmat(id, NULL, SHM_RDONLY);
  printf("second attach sees: %.10s, same memory: %s\n", q + 100,
         q != (char *)p && memcmp(q, (char *)p, SIZE) == 0 ? "yes" : "no");
  p[8192] = 'X';
  printf("a write through the first shows in the second: %c\n", q[8192]);
  shmdt(q);

  // Unmap the first page, then detach: the rest goes too.
  munmap((void *)p, 4096);
  printf("shmdt after a partial munmap: %d\n", shmdt((void *)p));
  char *r = mmap((void *)p, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  char *s = shmat(id, r, SHM_REMAP);
  printf("re-attached over a mapping at the same address: %s, %.10s %c\n",
         s == r ? "yes" : "no", s + 100, s[8192]);
  shmdt(s);
  shmctl(id, IPC_RMID, NULL);
  printf("EXIT-SUCCESS\n");
  return 0;
}
