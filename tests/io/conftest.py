"""Fixtures for siyu.io: store URLs on each backend (the PostgreSQL server is tests/conftest.py's)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(params=["duckdb", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request, tmp_path) -> Iterator[str]:
    """A tag store URL on each backend: embedded DuckDB, SQLite, a real PostgreSQL database."""
    if request.param == "duckdb":
        yield f"duckdb:///{tmp_path / 'tags.duckdb'}"
    elif request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tags.db'}"
    else:
        yield request.getfixturevalue("postgres_url")
