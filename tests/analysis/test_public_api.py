"""The public surface of cordtrial.analysis is deliberate: __all__ lists it, and it resolves."""

from __future__ import annotations

import importlib
import pkgutil

import cordtrial.analysis as analysis


def test_all_names_resolve_and_are_sorted():
    assert analysis.__all__ == sorted(analysis.__all__)
    for name in analysis.__all__:
        assert getattr(analysis, name) is not None


def test_public_surface_is_exactly_all():
    public = {n for n in vars(analysis) if not n.startswith("_")}
    modules = {m.name for m in pkgutil.iter_modules(analysis.__path__)}
    assert public - modules - {"annotations"} == set(analysis.__all__)


def test_every_module_declares_all():
    for info in pkgutil.iter_modules(analysis.__path__):
        module = importlib.import_module(f"cordtrial.analysis.{info.name}")
        assert hasattr(module, "__all__"), info.name
        for name in module.__all__:
            assert hasattr(module, name), f"{info.name}.{name}"
