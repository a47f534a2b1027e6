# Benchmark workload: `make -j2` of a fresh project of 8 small C files plus a
# main, generated into a new directory under $BENCH_WORK (run with sh).
set -e
d=$(mktemp -d "${BENCH_WORK:-/tmp}/make8.XXXXXX")
cd "$d"
calls=""
objs="main.o"
for i in 1 2 3 4 5 6 7 8; do
    printf '#include <string.h>\nint f%d(const char *s) { return (int)strlen(s) * %d; }\n' "$i" "$i" > "f$i.c"
    calls="$calls  s += f$i(\"abc\");\n"
    objs="$objs f$i.o"
done
{
    printf '#include <stdio.h>\n'
    for i in 1 2 3 4 5 6 7 8; do printf 'int f%d(const char *);\n' "$i"; done
    printf "int main(void) {\n  int s = 0;\n$calls  printf(\"sum %%d\\\\n\", s);\n  return 0;\n}\n"
} > main.c
printf 'prog: %s\n\t$(CC) -o $@ %s\n%%.o: %%.c\n\t$(CC) -O2 -c $< -o $@\n' "$objs" "$objs" > Makefile
make -s -j2
./prog
