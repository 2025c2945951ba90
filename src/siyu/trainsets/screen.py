"""What a training set keeps: feature columns that vary in the training rows, and a label with
both classes (or some spread) in every split. Pure: frames and specs in, decisions out."""

from __future__ import annotations

import pandas as pd

from siyu.config import TaskConfig
from siyu.features.specs import FeatureSet
from siyu.features.vocabulary import Omission
from siyu.labels.tasks import population_text


class LabelError(ValueError):
    """A training set whose label cannot be learned (one class, or no spread, in a split)."""


def screen_columns(df: pd.DataFrame, columns: tuple[str, ...]) -> tuple[list[str], list[Omission]]:
    """(kept, dropped): a column empty or constant in the training rows is dropped, with the value
    it always takes, since a model can learn nothing from it and a booster may fail on it."""
    train = df[df["split"] == "train"]
    kept, dropped = [], []
    for col in columns:
        values = train[col].dropna()
        if values.empty:
            dropped.append(Omission(col, "empty in the training rows"))
            continue
        distinct = values.unique()
        if len(distinct) <= 1:
            shown = f"{distinct[0]:g}" if isinstance(distinct[0], int | float) else str(distinct[0])
            note = " where defined" if len(values) < len(train) else ""
            dropped.append(Omission(col, f"constant in the training rows (always {shown}{note})"))
            continue
        kept.append(col)
    return kept, dropped


def prune_specs(specs: FeatureSet, kept: list[str]) -> FeatureSet:
    """The specs with at least one kept column (the ones scoring still has to build)."""
    keep = set(kept)
    return FeatureSet(tuple(s for s in specs if keep & set(s.columns)))


def check_label(df: pd.DataFrame, task: TaskConfig) -> None:
    """Refuse a label a model cannot learn or be judged on, naming the task, the split and the
    probable cause (LabelError)."""
    for split in ("train", "valid", "test"):
        label = df.loc[df["split"] == split, "label"]
        if label.empty:
            raise LabelError(f"task {task.name}: the {split} split has no rows: the population "
                             f"({population_text(task)}) is empty at its cutoffs; check the data's dates and roles")
        if task.binary and label.nunique() < 2:
            rate = float(label.mean())
            cause = _one_class_cause(task, rate)
            raise LabelError(f"task {task.name}: the label is {int(rate)} for every one of the {len(label):,} rows "
                             f"of the {split} split (label rate {rate:.4f}); probable cause: {cause}")
        if not task.binary and float(label.std(ddof=0)) == 0.0:
            raise LabelError(f"task {task.name}: the label is {float(label.iloc[0]):g} for every row of the "
                             f"{split} split; probable cause: no purchase or refund amounts in the label "
                             f"windows (is `columns.amount` mapped?)")


def _one_class_cause(task: TaskConfig, rate: float) -> str:
    if task.label == "any_purchase" and rate == 0:
        return ("no purchase in any label window: are purchases mapped to role purchase "
                "(`roles.purchase` in the dataset config)?")
    if task.label == "no_activity" and rate == 1:
        return "no activity after any cutoff: are the interaction event types listed under `roles`?"
    if task.label == "no_activity" and rate == 0:
        return (f"every user in the population is active again within {task.horizon_days} days: "
                "a longer horizon or a wider population may give the task a signal")
    return f"the horizon ({task.horizon_days} days) or the population ({population_text(task)}) leaves one outcome"
