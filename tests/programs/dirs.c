// reel-test: args=@tmpdir
// Directories: mkdir, opendir/readdir listing of a directory the program
// fills, getcwd, rmdir. Names are sorted before printing.
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHECK(c) do { if (!(c)) { printf("FAILED: %s (line %d)\n", #c, __LINE__); return 1; } } while (0)

static int cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv) {
  CHECK(argc == 2);
  char want[PATH_MAX], cwd[PATH_MAX];
  CHECK(realpath(argv[1], want) != NULL);
  CHECK(chdir(argv[1]) == 0);
  CHECK(getcwd(cwd, sizeof cwd) != NULL);
  printf("getcwd matches the directory: %s\n", strcmp(cwd, want) == 0 ? "yes" : "no");

  CHECK(mkdir("d", 0755) == 0);
  CHECK(mkdir("d/sub", 0755) == 0);
  for (int i = 0; i < 40; i++) {
    char name[64];
    snprintf(name, sizeof name, "d/file-%02d", i);
    int fd = open(name, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    CHECK(fd >= 0);
    close(fd);
  }
  DIR *dir = opendir("d");
  CHECK(dir != NULL);
  char *names[64];
  int n = 0;
  struct dirent *e;
  while ((e = readdir(dir)) != NULL) {
    CHECK(n < 64);
    char buf[300];
    snprintf(buf, sizeof buf, "%s%s", e->d_name, e->d_type == DT_DIR ? "/" : "");
    names[n++] = strdup(buf);
  }
  closedir(dir);
  qsort(names, n, sizeof names[0], cmp);
  printf("%d entries:", n);
  for (int i = 0; i < n; i++) printf(" %s", names[i]);
  printf("\n");

  CHECK(chdir("d/sub") == 0);
  CHECK(getcwd(cwd, sizeof cwd) != NULL);
  const char *tail = strrchr(cwd, '/');
  printf("after chdir: ends with %s\n", tail);
  CHECK(chdir("../..") == 0);
  for (int i = 0; i < 40; i++) {
    char name[64];
    snprintf(name, sizeof name, "d/file-%02d", i);
    CHECK(unlink(name) == 0);
  }
  CHECK(rmdir("d/sub") == 0);
  CHECK(rmdir("d") == 0);
  printf("removed\n");
  printf("EXIT-SUCCESS\n");
  return 0;
}
