"""The report archive records each job's peak memory (issue 17: a DSMB report under 400 MiB).
A job runs in a process the web server starts (fork and exec); the kernel carries the parent's
peak resident memory over ``execve`` into ``getrusage``'s ``ru_maxrss``, so that measure would
report the server's peak, not the job's. ``peak_rss_mib`` reads the job's own (``VmHWM``)."""

from __future__ import annotations

import subprocess
import sys

_CHILD = (
    "import resource\n"
    "from cordtrial.analysis.archive import peak_rss_mib\n"
    "print(peak_rss_mib(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)\n"
)


def test_a_job_started_by_a_large_process_reports_its_own_peak_memory() -> None:
    ballast = bytearray(600 * 2**20)
    ballast[::4096] = b"\x01" * len(range(0, len(ballast), 4096))  # every page resident
    done = subprocess.run([sys.executable, "-c", _CHILD], capture_output=True, text=True,
                          check=True, timeout=120)  # fmt: skip
    own, inherited = (float(x) for x in done.stdout.split())
    del ballast
    assert inherited >= 600  # what ru_maxrss says: the parent's peak, carried over exec
    assert 20 < own < 400  # the child's own: its imports, not the parent's 600 MiB
