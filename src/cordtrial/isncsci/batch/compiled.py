"""Loading the compiled walk (:mod:`cordtrial.isncsci.batch.jit`) when it is wanted.

Imported by name at first use, so that ``import cordtrial.isncsci.batch`` does not load Numba
and the compiled module is never imported by the modules it imports.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from types import ModuleType
from typing import Any

#: Fewest exams worth the compiled code: below it numpy takes a few milliseconds, less than
#: loading (or, on first use, compiling) the kernel.
JIT_MIN_ROWS = 2048
_JIT: dict[str, Any] = {}


def compiled(name: str) -> Callable[..., Any] | None:
    """A function of :mod:`cordtrial.isncsci.batch.jit`, or ``None`` where Numba is not
    installed or ``CORDTRIAL_JIT=0`` is set (then numpy does the same work, slower)."""
    if "module" not in _JIT:
        module: ModuleType | None = None
        if os.environ.get("CORDTRIAL_JIT", "1") != "0":
            try:
                module = importlib.import_module("cordtrial.isncsci.batch.jit")
            except ImportError:  # pragma: no cover - Numba is a dependency; this is the fallback
                module = None
        _JIT["module"] = module
    module = _JIT["module"]
    return None if module is None else getattr(module, name)


def compiled_for(name: str, rows: int) -> Callable[..., Any] | None:
    """:func:`compiled` when ``rows`` exams are worth it (:data:`JIT_MIN_ROWS`), else ``None``."""
    return compiled(name) if rows >= JIT_MIN_ROWS else None
