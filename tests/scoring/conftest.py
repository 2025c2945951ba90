"""Fixtures for scoring tests; the helpers live in scoring_fixtures.py (importable by name)."""

from __future__ import annotations

import numpy as np
import pytest
from scoring_fixtures import TinyChampion, make_cfg, train_champions

from siyu.config import SiyuConfig


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(7)


@pytest.fixture(scope="session")
def champions() -> dict[str, TinyChampion]:
    """Trained once per session; tests never mutate them (they derive new ones with replace)."""
    return train_champions(np.random.default_rng(11))


@pytest.fixture
def cfg(tmp_path) -> SiyuConfig:
    return make_cfg(tmp_path)
