# Benchmark workload: Python inserting 5000 rows into an sqlite database
# file under $BENCH_WORK, committed every 100 rows, then a query, without fsync (issue 11's
# Python workload on a file: pread/pwrite/lseek/fstat, fcntl locks).
set -e
d=$(mktemp -d "${BENCH_WORK:-/tmp}/sqlite.XXXXXX")
"${BENCH_PYTHON:-python3}" - "$d/bench.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
# No fsync: the disk's latency would swamp what is measured.
db.execute('pragma synchronous = off')
db.execute('create table t (id integer primary key, name text, n integer)')
for i in range(5000):
    db.execute('insert into t (name, n) values (?, ?)', (f'row {i}', i * i % 977))
    if i % 100 == 99:
        db.commit()
db.commit()
print(db.execute('select count(*), sum(n) from t').fetchone())
PY
