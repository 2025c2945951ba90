"""siyu.trainsets: the cutoff grid, time splits, training-set assembly, manifest and storage."""

from siyu.trainsets.assemble import SPLITS, assemble_trainset, split_stats, trainset_manifest
from siyu.trainsets.grid import GRID_ORIGIN, GridError, cutoff_grid, on_grid, split_cutoffs
from siyu.trainsets.store import data_digest, load_trainset, write_trainset

__all__ = [
    "GRID_ORIGIN", "GridError", "SPLITS", "assemble_trainset", "cutoff_grid", "data_digest",
    "load_trainset", "on_grid", "split_cutoffs", "split_stats", "trainset_manifest", "write_trainset",
]
