#!/usr/bin/env bash
# `cordtrial backup` of the same store on SQLite and on PostgreSQL, alternating, each in a process
# of its own (wall time, client CPU and peak RSS from GNU time), with the load average around each:
#     benchmarks/bench_backup_compare.sh SQLITE_URL POSTGRES_URL [BEFORE_SRC] [ROUNDS]
# Seed both stores with the same data first (benchmarks/bench_trial_scale.py's _seed and _pad).
# BEFORE_SRC: a checkout of older code (`git archive COMMIT src | tar -x -C DIR`, then DIR/src)
# whose PostgreSQL backup runs too, for a before/after in one run.
set -euo pipefail
cd "$(dirname "$0")/.."
sqlite=$1 postgres=$2 before=${3:-} rounds=${4:-2}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for i in $(seq "$rounds"); do
  for kind in sqlite postgres ${before:+postgres-before}; do
    case $kind in
      sqlite) url=$sqlite src=$PWD/src ;;
      postgres) url=$postgres src=$PWD/src ;;
      postgres-before) url=$postgres src=$before ;;
    esac
    rm -f "$out/backup"
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    measured=$( { CORDTRIAL_DATABASE_URL=$url PYTHONPATH=$src /usr/bin/time \
      -f "%e s %U user %S sys %M KiB" .venv/bin/python -c "from cordtrial.cli import app; app()" \
      backup -o "$out/backup" >/dev/null; } 2>&1 | tail -1)
    echo "$i $kind $measured size=$(stat -c %s "$out/backup") load_before=$load" \
         "load_after=$(cut -d' ' -f1-3 /proc/loadavg)"
  done
done
