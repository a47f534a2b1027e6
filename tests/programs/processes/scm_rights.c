// A child opens a file and passes the descriptor to its parent over a
// socketpair (SCM_RIGHTS); the parent reads the file through it.
// reel-test: args=@tmpfile
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc < 2) return 2;
  int s[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, s)) { perror("socketpair"); return 1; }
  pid_t p = fork();
  if (p == 0) {
    int fd = open(argv[1], O_RDONLY);
    lseek(fd, 6, SEEK_SET); // the offset travels with the open file
    char c = 'F';
    struct iovec iov = {&c, 1};
    union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int))]; } u;
    memset(&u, 0, sizeof u);
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b,
                       .msg_controllen = sizeof u.b};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &fd, sizeof fd);
    _exit(sendmsg(s[1], &m, 0) == 1 ? 0 : 1);
  }
  char c = 0;
  struct iovec iov = {&c, 1};
  union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int))]; } u;
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b,
                     .msg_controllen = sizeof u.b};
  ssize_t n = recvmsg(s[0], &m, 0);
  struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
  int fd = -1;
  if (n == 1 && cm && cm->cmsg_type == SCM_RIGHTS) memcpy(&fd, CMSG_DATA(cm), sizeof fd);
  printf("recvmsg: %zd byte '%c', got a descriptor: %s\n", n, c, fd >= 0 ? "yes" : "no");
  if (fd < 0) return 1;
  char buf[64];
  n = read(fd, buf, 40);
  printf("read through it: %zd bytes \"%.*s\"\n", n, (int)(n > 0 ? n : 0), buf);
  int st;
  waitpid(p, &st, 0);
  printf("child exited %d\n", WEXITSTATUS(st));
  printf("EXIT-SUCCESS\n");
  return 0;
}
