// System V semaphores and message queues between a parent and its child:
// the child waits on a semaphore the parent posts, sends messages back;
// semctl GETALL/SETALL/GETVAL/IPC_STAT and msgctl IPC_STAT report the state.
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/wait.h>
#include <unistd.h>

union semun {
  int val;
  struct semid_ds *buf;
  unsigned short *array;
};

struct message {
  long type;
  char text[32];
};

int main(void) {
  int sem = semget(IPC_PRIVATE, 3, IPC_CREAT | 0600);
  int msq = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
  if (sem < 0 || msq < 0) {
    perror("semget/msgget");
    return 1;
  }
  unsigned short init[3] = {0, 5, 7};
  union semun arg = {.array = init};
  semctl(sem, 0, SETALL, arg);
  pid_t child = fork();
  if (child == 0) {
    struct sembuf down = {0, -1, 0};
    for (int i = 0; i < 3; i++) {
      semop(sem, &down, 1);
      struct message m = {.type = 1 + i};
      snprintf(m.text, sizeof m.text, "reply %d", i);
      msgsnd(msq, &m, sizeof m.text, 0);
    }
    _exit(0);
  }
  for (int i = 0; i < 3; i++) {
    struct sembuf up = {0, 1, 0};
    semop(sem, &up, 1);
    struct message m;
    ssize_t n = msgrcv(msq, &m, sizeof m.text, 0, 0);
    printf("got %zd bytes, type %ld: %s\n", n, m.type, m.text);
  }
  waitpid(child, NULL, 0);
  unsigned short all[3] = {9, 9, 9};
  arg.array = all;
  int r = semctl(sem, 0, GETALL, arg);
  printf("GETALL %d: %u %u %u, GETVAL(2) %d\n", r, all[0], all[1], all[2],
         semctl(sem, 2, GETVAL));
  struct semid_ds sds;
  arg.buf = &sds;
  semctl(sem, 0, IPC_STAT, arg);
  printf("semaphores in the set: %lu\n", (unsigned long)sds.sem_nsems);
  struct msqid_ds mds;
  msgctl(msq, IPC_STAT, &mds);
  printf("messages left: %lu\n", (unsigned long)mds.msg_qnum);
  semctl(sem, 0, IPC_RMID);
  msgctl(msq, IPC_RMID, NULL);
  printf("EXIT-SUCCESS\n");
  return 0;
}
