"""The server's start-up (the app's lifespan): the objects loaded by then move to the cyclic
collector's permanent generation, so that a full collection during a request walks only what
requests made (docs/benchmarks.md, "Pauses of the cyclic garbage collector")."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

# In a fresh interpreter: the freeze happens once per process, and the test process has
# started apps before.
_PROBE = """
import gc, sys
from fastapi.testclient import TestClient
from cordtrial.web import WebSettings, create_app

app = create_app(WebSettings(database_url=sys.argv[1]))
before = gc.get_freeze_count()
loaded_before = "cordtrial.analysis.safety" in sys.modules
with TestClient(app) as client:
    after_start = gc.get_freeze_count()
    client.get("/healthz")
    garbage = [[]]
    garbage[0].append(garbage)  # a cycle made by a request: not frozen, collectable
    del garbage
    collected = gc.collect()
with TestClient(app):
    again = gc.get_freeze_count()
print(before, after_start, again, loaded_before, "cordtrial.analysis.safety" in sys.modules,
      collected)
"""


def test_start_up_freezes_the_loaded_objects_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cordtrial.db'}"
    done = subprocess.run([sys.executable, "-c", _PROBE, url], capture_output=True, text=True,
                          check=True, timeout=120)  # fmt: skip
    before, after_start, again, loaded_before, loaded_after, collected = done.stdout.split()
    assert int(before) == 0
    # everything alive at start-up is frozen: at least the web app's modules and routes
    assert int(after_start) > 100_000
    # a second start in the same process freezes nothing more (frozen objects may still be
    # freed by reference counting)
    assert int(again) <= int(after_start)
    # the dashboard's stopping-rule modules (pandas, scipy) are loaded before the freeze
    assert (loaded_before, loaded_after) == ("False", "True")
    # objects made after start-up are still collected
    assert int(collected) >= 1
