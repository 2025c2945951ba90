"""The cutoff grid and the time split (train < valid < test), as pure functions of dates."""

from __future__ import annotations

from datetime import date, timedelta

from siyu.config import TrainsetConfig

GRID_ORIGIN = date(1970, 1, 5)  # a Monday: grid cutoffs satisfy (C - origin).days % step == 0


class GridError(ValueError):
    """Not enough usable cutoffs for the requested split."""


def on_grid(cutoff: date, step_days: int) -> bool:
    """True for a Monday-aligned cutoff of a `step_days` grid."""
    return (cutoff - GRID_ORIGIN).days % step_days == 0


def cutoff_grid(
    first_event: date, data_end: date, *, horizon_days: int, step_days: int, min_history_days: int = 28
) -> list[date]:
    """Grid cutoffs C with `first_event + min_history_days <= C` and `C + horizon <= data_end`, ascending."""
    latest = data_end - timedelta(days=horizon_days)
    latest -= timedelta(days=(latest - GRID_ORIGIN).days % step_days)
    earliest = first_event + timedelta(days=min_history_days)
    out = []
    c = latest
    while c >= earliest:
        out.append(c)
        c -= timedelta(days=step_days)
    return out[::-1]


def split_cutoffs(grid: list[date], cfg: TrainsetConfig) -> dict[str, tuple[date, ...]]:
    """{'train', 'valid', 'test'}: the latest cutoffs test, the ones before valid, earlier train.

    Train takes up to `n_train_cutoffs`; at least one train cutoff is required."""
    need = cfg.n_test_cutoffs + cfg.n_valid_cutoffs + 1
    if len(grid) < need:
        span = f"{grid[0].isoformat()}..{grid[-1].isoformat()}" if grid else "none"
        raise GridError(
            f"cutoff grid: {len(grid)} usable cutoff(s) ({span}), need at least {need} "
            f"({cfg.n_test_cutoffs} test + {cfg.n_valid_cutoffs} valid + 1 train); use a longer history, "
            "a smaller trainset.step_days or fewer valid/test cutoffs"
        )
    test = grid[len(grid) - cfg.n_test_cutoffs:]
    valid = grid[len(grid) - cfg.n_test_cutoffs - cfg.n_valid_cutoffs: len(grid) - cfg.n_test_cutoffs]
    rest = grid[: len(grid) - cfg.n_test_cutoffs - cfg.n_valid_cutoffs]
    return {"train": tuple(rest[-cfg.n_train_cutoffs:]), "valid": tuple(valid), "test": tuple(test)}
