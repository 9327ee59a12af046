"""Values computed from one version of the trial data, kept in the process's memory.

A page that derives something costly from the whole store (the dashboard's safety stopping rule)
keys it by the store's data version (:func:`cordtrial.trial.services.reports.data_version`: the
head of the audit trail, one indexed read, advanced by every change of trial data) and the
database it was read from. Any change gives a new key and a fresh computation, whichever worker
process answers, so a cached value is never stale -- only a repeated computation in another
process. Each cache holds a few entries, the least recently used dropped first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from sqlalchemy.orm import Session

from cordtrial.trial.services.reports import data_version

__all__ = ["SnapshotCache", "snapshot_key"]

V = TypeVar("V")


def snapshot_key(session: Session) -> tuple[str, str]:
    """The database (its URL without password) and the data version ``session`` reads."""
    url = session.get_bind().engine.url.render_as_string(hide_password=True)
    return url, data_version(session)


class SnapshotCache(Generic[V]):
    """At most ``size`` values by key (a :func:`snapshot_key` and whatever else they depend
    on), thread-safe; a value is computed outside the lock, so two requests may compute the
    same value once each, never block each other."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._values: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], V]) -> V:
        """The value under ``key``, computed by ``compute()`` and kept when absent."""
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
        value = compute()
        with self._lock:
            self._values[key] = value
            while len(self._values) > self._size:
                self._values.popitem(last=False)
        return value

    def clear(self) -> None:
        """Forget every value."""
        with self._lock:
            self._values.clear()
