# Benchmark workload: a shell loop spawning 200 short processes (run with sh).
for i in $(seq 200); do /bin/true; done
echo spawned 200
