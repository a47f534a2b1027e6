/* Used by tests/silent.rs: calls reel refuses or does not record yet, each
 * made twice. Prints what each returned; the test checks that reel named
 * each call once in a `reel:` warning, and that the replay prints the same. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static void show(const char *what, long r) {
  printf("%s: %s\n", what, r == -1 ? strerror(errno) : "ok");
}

int main(void) {
  for (int i = 0; i < 2; i++) {
    struct perf_event_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.size = sizeof attr;
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = PERF_COUNT_SW_TASK_CLOCK;
    attr.exclude_kernel = 1;
    long fd = syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
    show("perf_event_open", fd);
    if (fd >= 0) close(fd);
    /* A TLS descriptor in the GDT (32-bit code's TLS): entry -1 asks for a free one. */
    struct { unsigned entry, base, limit, flags; } desc = {(unsigned)-1, 0, 0xfffff, 0x51};
    show("set_thread_area", syscall(SYS_set_thread_area, &desc));
    show("iopl", syscall(SYS_iopl, 0));
    show("quotactl", syscall(SYS_quotactl, 0, NULL, 0, NULL));
  }
  return 0;
}
