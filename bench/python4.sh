# Four Python threads share a lock and write to /dev/null now and then
# (issue 11's threaded Python program).
python3 - <<'PY'
import threading
lock = threading.Lock()
total = [0]
def work(n):
    acc = 0
    for i in range(20000):
        acc += i * n
        if i % 1000 == 0:
            with lock:
                total[0] += acc
            with open('/dev/null', 'w') as f:
                f.write(str(acc))
ts = [threading.Thread(target=work, args=(k,)) for k in range(4)]
for t in ts: t.start()
for t in ts: t.join()
print(total[0])
PY
