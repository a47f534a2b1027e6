# Benchmark workload: one `cc -O2` of three small C files into a program
# (the driver runs cc1 and as for each, then collect2 and ld), in a new
# directory under $BENCH_WORK, and the program run.
set -e
d=$(mktemp -d "${BENCH_WORK:-/tmp}/cc3.XXXXXX")
cd "$d"
for i in 1 2; do
    printf '#include <string.h>\nint f%d(const char *s) { return (int)strlen(s) * %d; }\n' "$i" "$i" > "f$i.c"
done
printf '#include <stdio.h>\nint f1(const char *);\nint f2(const char *);\nint main(void) { printf("sum %%d\\n", f1("ab") + f2("abc")); return 0; }\n' > main.c
cc -O2 -o prog main.c f1.c f2.c
./prog
