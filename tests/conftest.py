"""Shared pytest setup. Package-specific fixtures live in tests/<package>/conftest.py."""

import os

# Plots are written to files; no screen here or in CI.
os.environ.setdefault("MPLBACKEND", "Agg")
