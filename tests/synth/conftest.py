"""Fixtures for the synthetic world: one small world generated once per test session."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from siyu.jobs.generate import WorldSummary, generate_world


@pytest.fixture(scope="session")
def tiny_world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, WorldSummary]:
    """A generated world (with truth) that spans 618: (folder, summary)."""
    out = tmp_path_factory.mktemp("world")
    summary = generate_world(2500, 160, 11, out, date(2025, 5, 5))
    return out, summary
