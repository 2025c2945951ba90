"""The Monday cutoff grid and the time split."""

from __future__ import annotations

from datetime import date

import pytest

from siyu.config import TrainsetConfig
from siyu.trainsets import GridError, cutoff_grid, on_grid, split_cutoffs


def test_grid_is_mondays_on_the_step_and_inside_the_data():
    grid = cutoff_grid(date(2024, 9, 1), date(2025, 7, 2), horizon_days=90, step_days=14)
    assert all(c.weekday() == 0 and on_grid(c, 14) for c in grid)
    assert grid == sorted(grid) and grid[-1] == date(2025, 3, 31)  # + 90 d = 2025-06-29 <= 2025-07-02
    assert grid[0] >= date(2024, 9, 29)  # 28 days of history
    assert (date(2025, 3, 31) - date(1970, 1, 5)).days % 14 == 0


def test_split_is_ordered_train_before_valid_before_test():
    grid = cutoff_grid(date(2024, 1, 1), date(2025, 7, 2), horizon_days=30, step_days=7)
    splits = split_cutoffs(grid, TrainsetConfig(step_days=7, n_train_cutoffs=5, n_valid_cutoffs=2, n_test_cutoffs=1))
    assert [len(splits[k]) for k in ("train", "valid", "test")] == [5, 2, 1]
    assert max(splits["train"]) < min(splits["valid"]) and max(splits["valid"]) < min(splits["test"])
    assert splits["test"][-1] == grid[-1]


def test_short_history_takes_fewer_train_cutoffs_or_fails_clearly():
    grid = cutoff_grid(date(2025, 4, 1), date(2025, 7, 2), horizon_days=7, step_days=14)
    splits = split_cutoffs(grid, TrainsetConfig())
    assert len(splits["train"]) == len(grid) - 3
    with pytest.raises(GridError, match=r"need at least 4 \(1 test \+ 2 valid \+ 1 train\)"):
        split_cutoffs(grid[:3], TrainsetConfig())
