#!/usr/bin/env bash
# `cordtrial backup` of the same store on SQLite and on PostgreSQL, alternating, each in a process
# of its own (wall time, client CPU and peak RSS from GNU time; the PostgreSQL server's CPU for the
# backup's backends), with the load average around each:
#     benchmarks/bench_backup_compare.sh SQLITE_URL POSTGRES_URL [BEFORE_SRC] [ROUNDS]
#     benchmarks/bench_backup_compare.sh --seed SQLITE_URL POSTGRES_URL [AUDIT_ROWS]
# --seed fills both (empty) stores alike: bench_trial_scale.py's store (500 participants, 10 sites,
# 1,000 exams through the use cases) with the trail padded to AUDIT_ROWS (default 1,000,000).
# BEFORE_SRC: a checkout of older code (`git archive COMMIT src | tar -x -C DIR`, then DIR/src)
# whose PostgreSQL backup runs too, for a before/after in one run.
# Server CPU: the backends a backup opens exit with it, and the postmaster (their parent) then
# counts their CPU in its cutime + cstime (/proc/PID/stat); read before and after each PostgreSQL
# backup when the server runs on this machine (else "server=n/a"). SQLite's work is all in the
# client. The file size is the backup's; `uptime` is printed before and after the runs.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ${1:-} == --seed ]]; then
  rows=${4:-1000000}
  for url in "$2" "$3"; do
    PYTHONPATH=$PWD/src:$PWD/benchmarks:$PWD/tests .venv/bin/python - "$url" "$rows" <<'EOF'
import sys, time
from bench_trial_scale import _pad, _seed
url, rows = sys.argv[1], int(sys.argv[2])
start = time.perf_counter()
counts = _seed(url, "head", 500, 10, 2)
print(url.split("@")[-1], counts, "audit rows:", _pad(url, rows),
      f"{time.perf_counter() - start:.0f} s", flush=True)
EOF
  done
  exit 0
fi
sqlite=$1 postgres=$2 before=${3:-} rounds=${4:-2}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
postmaster=$(PYTHONPATH=$PWD/src .venv/bin/python - "$postgres" <<'EOF' || true
import sys
from cordtrial.trial.database import make_engine
engine = make_engine(sys.argv[1])
with engine.connect() as connection:  # the backend's parent, read while it runs
    backend = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
    for line in open(f"/proc/{backend}/status"):
        if line.startswith("PPid:"):
            print(line.split()[1])
engine.dispose()
EOF
)
server_ticks() {  # the postmaster's reaped children's CPU, in clock ticks
  [[ -n $postmaster && -r /proc/$postmaster/stat ]] || { echo ""; return; }
  sed 's/.*) //' "/proc/$postmaster/stat" | awk '{print $14 + $15}'
}
hz=$(getconf CLK_TCK)
echo "uptime before: $(uptime)"
for i in $(seq "$rounds"); do
  for kind in sqlite postgres ${before:+postgres-before}; do
    case $kind in
      sqlite) url=$sqlite src=$PWD/src ;;
      postgres) url=$postgres src=$PWD/src ;;
      postgres-before) url=$postgres src=$before ;;
    esac
    rm -f "$out/backup"
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    ticks=$(server_ticks)
    measured=$( { CORDTRIAL_DATABASE_URL=$url PYTHONPATH=$src /usr/bin/time \
      -f "%e s %U user %S sys %M KiB" .venv/bin/python -c "from cordtrial.cli import app; app()" \
      backup -o "$out/backup" >/dev/null; } 2>&1 | tail -1)
    server=n/a
    if [[ $kind != sqlite && -n $ticks ]]; then
      sleep 0.5  # the postmaster reaps the backends
      server="$(echo "$(server_ticks) $ticks $hz" | awk '{printf "%.2f", ($1 - $2) / $3}') s"
    fi
    echo "$i $kind $measured server=$server size=$(stat -c %s "$out/backup")" \
         "load_before=$load load_after=$(cut -d' ' -f1-3 /proc/loadavg)"
  done
done
echo "uptime after: $(uptime)"
