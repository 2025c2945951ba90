"""The cutoff grid and the purged time split (train < valid < test), as pure functions of dates.

Purging (López de Prado's purging, applied to label windows): a row at cutoff C may train or
validate a model judged at cutoff T only if `C + horizon <= T`. Weekly cutoffs with a 30-day
label otherwise let a model refit on train + valid see most of the test outcome of the same
users, and let early stopping and calibration read labels the training rows already saw.
"""

from __future__ import annotations

from datetime import date, timedelta

from siyu.config import TrainsetConfig

GRID_ORIGIN = date(1970, 1, 5)  # a Monday: grid cutoffs satisfy (C - origin).days % step == 0
SPLITS: tuple[str, ...] = ("train", "valid", "test")  # in time order


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


def _before(grid: list[date], bound: date, horizon_days: int) -> list[date]:
    """Grid cutoffs whose label window `[C, C + horizon)` ends by `bound`."""
    return [c for c in grid if c + timedelta(days=horizon_days) <= bound]


def split_cutoffs(grid: list[date], cfg: TrainsetConfig, *, horizon_days: int) -> dict[str, tuple[date, ...]]:
    """{'train', 'valid', 'test'}, purged: the latest `n_test_cutoffs` test; valid the latest
    cutoffs whose label window ends by the first test cutoff; train (up to `n_train_cutoffs`,
    at least one) those whose label window ends by the first valid cutoff."""
    span = f"{grid[0].isoformat()}..{grid[-1].isoformat()}" if grid else "none"
    need = (cfg.n_test_cutoffs + cfg.n_valid_cutoffs - 2) * cfg.step_days + 2 * horizon_days
    have = (grid[-1] - grid[0]).days if grid else 0
    advice = (f"a purged split needs cutoffs spanning at least {need} days ({cfg.n_test_cutoffs} test and "
              f"{cfg.n_valid_cutoffs} valid cutoffs {cfg.step_days} d apart, two {horizon_days}-day gaps, one "
              f"train cutoff), this grid spans {have}; use a longer history, fewer trainset.n_valid_cutoffs / "
              "n_test_cutoffs, or a shorter horizon")
    if len(grid) < cfg.n_test_cutoffs:
        raise GridError(f"cutoff grid: {len(grid)} usable cutoff(s) ({span}), need {cfg.n_test_cutoffs} test "
                        f"cutoff(s) alone; {advice}")
    test = grid[len(grid) - cfg.n_test_cutoffs:]
    valid_pool = _before(grid, test[0], horizon_days)
    if len(valid_pool) < cfg.n_valid_cutoffs + 1:
        raise GridError(
            f"cutoff grid: {len(valid_pool)} cutoff(s) end their {horizon_days}-day label window by the first test "
            f"cutoff {test[0].isoformat()} (grid {span}), need at least {cfg.n_valid_cutoffs + 1} "
            f"({cfg.n_valid_cutoffs} valid + 1 train, before a purge gap); {advice}"
        )
    valid = valid_pool[-cfg.n_valid_cutoffs:]
    train_pool = _before(valid_pool, valid[0], horizon_days)
    if not train_pool:
        raise GridError(
            f"cutoff grid: no cutoff ends its {horizon_days}-day label window by the first valid cutoff "
            f"{valid[0].isoformat()} (grid {span}); need at least 1 train cutoff "
            f"({cfg.n_test_cutoffs} test + {cfg.n_valid_cutoffs} valid + 1 train, with two purge gaps); {advice}"
        )
    return {"train": tuple(train_pool[-cfg.n_train_cutoffs:]), "valid": tuple(valid), "test": tuple(test)}


def purge_gaps(splits: dict[str, tuple[date, ...]], horizon_days: int) -> dict[str, int]:
    """The manifest's record of the purge: the horizon and the days between splits
    (`train_valid_gap_days` = first valid - last train; purged when each gap >= horizon)."""
    return {
        "horizon_days": horizon_days,
        "train_valid_gap_days": (min(splits["valid"]) - max(splits["train"])).days,
        "valid_test_gap_days": (min(splits["test"]) - max(splits["valid"])).days,
    }


def check_purged(splits: dict[str, tuple[date, ...]], horizon_days: int, *, where: str) -> None:
    """Raise GridError when a train (valid) label window reaches past the first valid (test) cutoff."""
    for early, late in zip(SPLITS, SPLITS[1:], strict=False):
        if not splits.get(early) or not splits.get(late):
            raise GridError(f"{where}: split '{early}' or '{late}' has no cutoff")
        last, first = max(splits[early]), min(splits[late])
        if last + timedelta(days=horizon_days) > first:
            raise GridError(
                f"{where}: {early} cutoff {last.isoformat()} + {horizon_days} d label window reaches past the first "
                f"{late} cutoff {first.isoformat()}: the {late} outcome leaks into the {early} labels; rebuild it "
                "with `siyu trainset` (splits are purged by the label window)"
            )


def walk_forward_splits(
    grid: list[date], cfg: TrainsetConfig, *, horizon_days: int, folds: int
) -> list[dict[str, tuple[date, ...]]]:
    """`folds` purged splits, latest first: fold k tests the `n_test_cutoffs` block that ends
    k blocks before the grid's end, and trains / validates only on cutoffs purged against it."""
    if folds < 1:
        raise GridError(f"backtest: folds must be at least 1, got {folds}")
    out = []
    for k in range(folds):
        end = len(grid) - k * cfg.n_test_cutoffs
        try:
            out.append(split_cutoffs(grid[:end], cfg, horizon_days=horizon_days))
        except GridError as exc:
            raise GridError(f"backtest fold {k + 1} of {folds}: {exc}; ask for at most {k} fold(s)") from exc
    return out
