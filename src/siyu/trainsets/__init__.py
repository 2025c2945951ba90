"""siyu.trainsets: the cutoff grid, time splits, training-set assembly, manifest and storage."""

from siyu.trainsets.assemble import assemble_trainset, split_stats, trainset_manifest
from siyu.trainsets.grid import (
    GRID_ORIGIN,
    SPLITS,
    GridError,
    check_purged,
    cutoff_grid,
    on_grid,
    purge_gaps,
    split_cutoffs,
    walk_forward_splits,
)
from siyu.trainsets.horizon import HorizonFit, HorizonTooLong, check_horizon, horizon_fit
from siyu.trainsets.screen import LabelError, check_label, prune_specs, screen_columns
from siyu.trainsets.store import (
    CURRENT_FILE,
    data_digest,
    load_trainset,
    write_current,
    write_trainset,
)

__all__ = [
    "CURRENT_FILE", "GRID_ORIGIN", "GridError", "HorizonFit", "HorizonTooLong", "LabelError", "SPLITS", "check_label", "prune_specs", "screen_columns", "assemble_trainset", "check_horizon", "check_purged", "cutoff_grid", "data_digest", "horizon_fit",
    "load_trainset", "on_grid", "purge_gaps", "split_cutoffs", "split_stats", "trainset_manifest",
    "walk_forward_splits", "write_current", "write_trainset",
]
