// exec of a #! script: the program writes scripts into a directory and
// execs them: /bin/sh with arguments, an interpreter line with an option,
// a script run through env(1), and a #! naming a missing interpreter.
// reel-test: args=@tmpdir
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void write_script(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);
  write(fd, text, strlen(text));
  close(fd);
}

static void run(const char *path, const char *arg) {
  pid_t p = fork();
  if (p == 0) {
    char *args[] = {"script-argv0", (char *)arg, NULL};
    execv(path, args);
    printf("  execv failed: %s\n", strerror(errno));
    _exit(126);
  }
  int st;
  waitpid(p, &st, 0);
  printf("  status %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc < 2) return 2;
  char a[512], b[512], c[512], d[512];
  snprintf(a, sizeof a, "%s/plain.sh", argv[1]);
  snprintf(b, sizeof b, "%s/opt.sh", argv[1]);
  snprintf(c, sizeof c, "%s/env.py", argv[1]);
  snprintf(d, sizeof d, "%s/missing.sh", argv[1]);
  write_script(a, "#!/bin/sh\necho \"  plain script: \\$1=$1, \\$# = $#\"\n"
                  "echo \"  its name ends in: ${0##*/}\"\nexit 7\n");
  write_script(b, "#!/bin/sh -e\necho \"  with -e: first command\"\nfalse\n"
                  "echo \"  never printed\"\n");
  write_script(c, "#!/usr/bin/env python3\nimport sys\n"
                  "print('  python via env: args', sys.argv[1:])\nsys.exit(3)\n");
  write_script(d, "#!/nonexistent/interpreter\necho hi\n");
  printf("plain #!/bin/sh:\n");
  run(a, "first-arg");
  printf("#!/bin/sh -e:\n");
  run(b, "x");
  printf("#!/usr/bin/env python3:\n");
  run(c, "py-arg");
  printf("missing interpreter:\n");
  run(d, "x");
  printf("EXIT-SUCCESS\n");
  return 0;
}
