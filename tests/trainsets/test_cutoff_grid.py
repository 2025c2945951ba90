"""The Monday cutoff grid and the time split."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from siyu.config import TrainsetConfig
from siyu.trainsets import (
    GridError,
    check_purged,
    cutoff_grid,
    on_grid,
    purge_gaps,
    split_cutoffs,
    walk_forward_splits,
)


def test_grid_is_mondays_on_the_step_and_inside_the_data():
    grid = cutoff_grid(date(2024, 9, 1), date(2025, 7, 2), horizon_days=90, step_days=14)
    assert all(c.weekday() == 0 and on_grid(c, 14) for c in grid)
    assert grid == sorted(grid) and grid[-1] == date(2025, 3, 31)  # + 90 d = 2025-06-29 <= 2025-07-02
    assert grid[0] >= date(2024, 9, 29)  # 28 days of history
    assert (date(2025, 3, 31) - date(1970, 1, 5)).days % 14 == 0


def test_split_is_ordered_and_purged_by_the_label_window():
    grid = cutoff_grid(date(2024, 1, 1), date(2025, 7, 2), horizon_days=30, step_days=7)
    splits = split_cutoffs(grid, TrainsetConfig(step_days=7, n_train_cutoffs=5, n_valid_cutoffs=2, n_test_cutoffs=4),
                           horizon_days=30)
    assert [len(splits[k]) for k in ("train", "valid", "test")] == [5, 2, 4]
    assert splits["test"] == tuple(grid[-4:])  # the latest cutoffs, weekly
    assert max(splits["train"]) + timedelta(days=30) <= min(splits["valid"])
    assert max(splits["valid"]) + timedelta(days=30) <= min(splits["test"])
    # the latest cutoffs that satisfy the purge: one more week would overlap
    assert max(splits["valid"]) + timedelta(days=37) > min(splits["test"])
    assert purge_gaps(splits, 30) == {"horizon_days": 30, "train_valid_gap_days": 35, "valid_test_gap_days": 35}
    check_purged(splits, 30, where="x")


def test_every_grid_split_is_purged_for_any_horizon_and_step():
    for horizon in (1, 7, 15, 30, 90):
        for step in (1, 7, 14):
            grid = cutoff_grid(date(2023, 1, 1), date(2025, 7, 2), horizon_days=horizon, step_days=step)
            splits = split_cutoffs(grid, TrainsetConfig(step_days=step), horizon_days=horizon)
            check_purged(splits, horizon, where=f"h={horizon} step={step}")
            assert splits["test"][-1] == grid[-1]


def test_an_overlapping_split_is_named():
    splits = {"train": (date(2025, 1, 6),), "valid": (date(2025, 1, 20),), "test": (date(2025, 3, 3),)}
    with pytest.raises(GridError, match="train cutoff 2025-01-06 \\+ 30 d label window reaches past the first valid"):
        check_purged(splits, 30, where="manifest")


def test_short_history_takes_fewer_train_cutoffs_or_fails_clearly():
    grid = cutoff_grid(date(2025, 4, 1), date(2025, 7, 2), horizon_days=7, step_days=14)
    splits = split_cutoffs(grid, TrainsetConfig(n_test_cutoffs=1), horizon_days=7)
    assert len(splits["train"]) == len(grid) - 3
    with pytest.raises(GridError, match=r"need at least 3 \(2 valid \+ 1 train.*n_valid_cutoffs / n_test_cutoffs"):
        split_cutoffs(grid[:3], TrainsetConfig(n_test_cutoffs=1), horizon_days=7)
    long = cutoff_grid(date(2025, 1, 1), date(2025, 7, 2), horizon_days=90, step_days=7)
    with pytest.raises(GridError, match="90-day label window"):
        split_cutoffs(long, TrainsetConfig(step_days=7), horizon_days=90)


def test_walk_forward_folds_step_back_one_test_block_each():
    grid = cutoff_grid(date(2024, 1, 1), date(2025, 7, 2), horizon_days=30, step_days=7)
    cfg = TrainsetConfig(step_days=7, n_train_cutoffs=8, n_valid_cutoffs=2, n_test_cutoffs=2)
    folds = walk_forward_splits(grid, cfg, horizon_days=30, folds=3)
    assert [f["test"] for f in folds] == [tuple(grid[-2:]), tuple(grid[-4:-2]), tuple(grid[-6:-4])]
    for fold in folds:
        check_purged(fold, 30, where="fold")
    with pytest.raises(GridError, match="backtest fold .* ask for at most"):
        walk_forward_splits(grid, cfg, horizon_days=30, folds=40)
