from __future__ import annotations

import pytest

from builders import normal_flat


@pytest.fixture
def normal() -> dict[str, str]:
    """Flat columns of a normal exam."""
    return normal_flat()
