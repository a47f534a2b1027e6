// socketpair between parent and child: a stream pair used both ways, and a
// datagram pair that keeps message boundaries; shutdown gives EOF.
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  int s[2], d[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, s) || socketpair(AF_UNIX, SOCK_DGRAM, 0, d)) {
    perror("socketpair");
    return 1;
  }
  pid_t p = fork();
  if (p == 0) {
    close(s[0]); close(d[0]);
    char buf[128];
    ssize_t n;
    while ((n = read(s[1], buf, sizeof buf)) > 0) {
      char reply[160];
      int m = snprintf(reply, sizeof reply, "child got %zd bytes", n);
      write(s[1], reply, m);
    }
    // Three datagrams of different sizes.
    send(d[1], "one", 3, 0);
    send(d[1], "two two", 7, 0);
    send(d[1], "three three three", 17, 0);
    _exit(0);
  }
  close(s[1]); close(d[1]);
  const char *msgs[] = {"ping", "a longer message"};
  for (int i = 0; i < 2; i++) {
    char buf[160];
    write(s[0], msgs[i], strlen(msgs[i]));
    ssize_t n = read(s[0], buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    printf("parent sent \"%s\", reply \"%s\"\n", msgs[i], buf);
  }
  shutdown(s[0], SHUT_WR);
  char buf[64];
  for (int i = 0; i < 3; i++) {
    ssize_t n = recv(d[0], buf, sizeof buf, 0);
    printf("datagram %d: %zd bytes \"%.*s\"\n", i, n, (int)n, buf);
  }
  ssize_t n = read(s[0], buf, sizeof buf);
  printf("stream after child exit: read %zd\n", n);
  int st;
  waitpid(p, &st, 0);
  printf("child exited %d\n", WEXITSTATUS(st));
  printf("EXIT-SUCCESS\n");
  return 0;
}
