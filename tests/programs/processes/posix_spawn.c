// reel-test: checksum
// posix_spawn and posix_spawnp (glibc: clone(CLONE_VM|CLONE_VFORK)) with
// file actions (dup2 onto stdout, open) and a spawn of a missing program.
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static void wait_for(pid_t p, const char *what) {
  int st;
  pid_t w = waitpid(p, &st, 0);
  printf("%s: waited %s, exited %d\n", what, w == p ? "ok" : "wrong pid",
         WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  pid_t p;
  char *a1[] = {"sh", "-c", "echo \"  spawned sh: $0 $1\"; exit 4", "zero", "one", NULL};
  int r = posix_spawn(&p, "/bin/sh", NULL, NULL, a1, environ);
  wait_for(p, "sh");
  printf("posix_spawn: %d\n", r);

  char *a2[] = {"echo", "  spawnp found echo in PATH", NULL};
  r = posix_spawnp(&p, "echo", NULL, NULL, a2, environ);
  wait_for(p, "echo");
  printf("posix_spawnp: %d\n", r);

  // stdout of the child goes into a pipe we read.
  int pp[2];
  pipe(pp);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pp[1], 1);
  posix_spawn_file_actions_addclose(&fa, pp[0]);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  char *a3[] = {"sh", "-c", "echo captured output; cat; echo after cat", NULL};
  r = posix_spawn(&p, "/bin/sh", &fa, NULL, a3, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(pp[1]);
  char buf[256];
  ssize_t n, total = 0;
  while ((n = read(pp[0], buf + total, sizeof buf - 1 - total)) > 0) total += n;
  buf[total] = 0;
  printf("posix_spawn with file actions: %d, read %zd bytes: %s", r, total, buf);
  wait_for(p, "captured");

  char *a4[] = {"nope", NULL};
  r = posix_spawn(&p, "/nonexistent/prog", NULL, NULL, a4, environ);
  printf("posix_spawn of a missing program: %s\n", strerror(r));
  printf("EXIT-SUCCESS\n");
  return 0;
}
