// reel-test: varies
// Processes sharing writable memory: an anonymous shared counter that parent
// and child increment without a lock (a race: natively the total varies),
// and a POSIX semaphore in a shm_open file mapped by both. reel runs such
// processes one at a time and replays their interleaving.
#include <fcntl.h>
#include <semaphore.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
  volatile long *counter = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                                MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  char name[64];
  snprintf(name, sizeof name, "/reel-test-%d", getpid());
  int fd = shm_open(name, O_CREAT | O_RDWR, 0600);
  ftruncate(fd, 4096);
  sem_t *sem = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  shm_unlink(name);
  sem_init(sem, 1, 0);
  pid_t p = fork();
  for (int i = 0; i < 200000; i++) {
    (*counter)++;
    if (i % 20000 == 0) getppid();
  }
  if (p == 0) {
    sem_post(sem);
    _exit(0);
  }
  sem_wait(sem);
  waitpid(p, NULL, 0);
  printf("counter %ld (of 400000), semaphore passed\n", *counter);
  printf("EXIT-SUCCESS\n");
  return 0;
}
