"""Fixtures for scoring tests; the helpers live in scoring_fixtures.py (importable by name)."""

from __future__ import annotations

import numpy as np
import pytest
from scoring_fixtures import TinyChampion, make_cfg, train_champions

from siyu.config import SiyuConfig


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(7)


@pytest.fixture
def champions(rng) -> dict[str, TinyChampion]:
    return train_champions(rng)


@pytest.fixture
def cfg(tmp_path) -> SiyuConfig:
    return make_cfg(tmp_path)
