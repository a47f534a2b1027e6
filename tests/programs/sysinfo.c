// reel-test: varies
// System information: uname, sysinfo, getrlimit, getrusage. Free memory and
// uptime change from run to run, so the output is not compared with a
// native run.
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>

static void lim(const char *name, int r) {
  struct rlimit rl;
  if (getrlimit(r, &rl) != 0) { printf("%s: error\n", name); return; }
  printf("%s: cur %lld max %lld\n", name, (long long)rl.rlim_cur, (long long)rl.rlim_max);
}

int main(void) {
  struct utsname u;
  if (uname(&u) != 0) return 1;
  printf("uname: %s %s %s %s\n", u.sysname, u.nodename, u.release, u.machine);
  printf("version: %s\n", u.version);
  struct sysinfo si;
  if (sysinfo(&si) != 0) return 1;
  printf("uptime: %ld s\n", si.uptime);
  printf("totalram: %lu x %u\n", si.totalram, si.mem_unit);
  printf("freeram: %lu\n", si.freeram);
  printf("procs: %u\n", si.procs);
  printf("loads: %lu %lu %lu\n", si.loads[0], si.loads[1], si.loads[2]);
  lim("RLIMIT_NOFILE", RLIMIT_NOFILE);
  lim("RLIMIT_STACK", RLIMIT_STACK);
  lim("RLIMIT_AS", RLIMIT_AS);
  lim("RLIMIT_CORE", RLIMIT_CORE);
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0) return 1;
  printf("maxrss: %ld KiB, utime %ld.%06ld\n", ru.ru_maxrss, (long)ru.ru_utime.tv_sec,
         (long)ru.ru_utime.tv_usec);
  printf("nprocs: %d\n", get_nprocs());
  printf("EXIT-SUCCESS\n");
  return 0;
}
