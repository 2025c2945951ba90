"""Reuse the DuckDB connection fixture of the feature tests."""

from tests.features.conftest import con  # noqa: F401 - a pytest fixture
