// exec of a 32-bit i386 ELF (written by hand: exit(42) through int 0x80).
// Natively it runs (exit 42) when the kernel has IA32 emulation, else
// execve fails with ENOEXEC. Under reel it must fail with ENOEXEC (with a
// `reel:` message on stderr), and the program must go on.
// reel-test: args=@tmpdir
// reel-test: varies
// reel-test: record-prints=i386 exec: execve failed with ENOEXEC
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc < 2) return 2;
  unsigned char code[] = {0xb8, 1, 0, 0, 0, 0xbb, 42, 0, 0, 0, 0xcd, 0x80};
  struct { Elf32_Ehdr e; Elf32_Phdr p; } h;
  memset(&h, 0, sizeof h);
  memcpy(h.e.e_ident, ELFMAG, SELFMAG);
  h.e.e_ident[EI_CLASS] = ELFCLASS32;
  h.e.e_ident[EI_DATA] = ELFDATA2LSB;
  h.e.e_ident[EI_VERSION] = EV_CURRENT;
  h.e.e_type = ET_EXEC;
  h.e.e_machine = EM_386;
  h.e.e_version = EV_CURRENT;
  h.e.e_entry = 0x08048000 + sizeof h;
  h.e.e_phoff = sizeof h.e;
  h.e.e_ehsize = sizeof h.e;
  h.e.e_phentsize = sizeof h.p;
  h.e.e_phnum = 1;
  h.p.p_type = PT_LOAD;
  h.p.p_vaddr = h.p.p_paddr = 0x08048000;
  h.p.p_filesz = h.p.p_memsz = sizeof h + sizeof code;
  h.p.p_flags = PF_R | PF_X;
  h.p.p_align = 0x1000;
  char path[512];
  snprintf(path, sizeof path, "%s/i386-exit42", argv[1]);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);
  if (fd < 0 || write(fd, &h, sizeof h) != sizeof h || write(fd, code, sizeof code) != sizeof code)
    return 1;
  close(fd);
  pid_t p = fork();
  if (p == 0) {
    char *args[] = {"i386-exit42", NULL};
    execv(path, args);
    _exit(errno == ENOEXEC ? 100 : 101);
  }
  int st;
  waitpid(p, &st, 0);
  if (WIFEXITED(st) && WEXITSTATUS(st) == 42)
    printf("i386 exec: ran and exited 42\n");
  else if (WIFEXITED(st) && WEXITSTATUS(st) == 100)
    printf("i386 exec: execve failed with ENOEXEC\n");
  else {
    printf("i386 exec: unexpected status 0x%x\n", st);
    return 1;
  }
  printf("EXIT-SUCCESS\n");
  return 0;
}
