"""Paths the segment tests share."""

from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SPECS_PATH = REPO / "configs" / "features.yaml"
AS_OF = date(2025, 8, 4)
LATER = date(2025, 8, 11)
