"""Leaderboard arithmetic: the headline metric per task and the share of each oracle reached.

Two oracles can sit on a synthetic world's leaderboard: `oracle` (the generator's truth given its
hidden state and each user's latent traits: no model can know them) and `oracle_observable`
(the Bayes-optimal labels given only the observed history: the real limit for a model).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

ORACLE = "oracle"
ORACLE_OBSERVABLE = "oracle_observable"
RATIO_COLUMNS = {ORACLE: "oracle_ratio", ORACLE_OBSERVABLE: "observable_ratio"}


def headline_metric(task: str) -> str:
    """'gini' for ltv, 'auc' for the binary tasks."""
    return "gini" if task == "ltv" else "auc"


def _ratio(board: pd.DataFrame, col: str, reference: str, shift: float) -> pd.Series:
    value = board.loc[board["model"] == reference, col]
    if len(value) and pd.notna(value.iloc[0]) and float(value.iloc[0]) - shift != 0:
        return (board[col] - shift) / (float(value.iloc[0]) - shift)
    return pd.Series(np.nan, index=board.index)


def add_oracle_ratio(board: pd.DataFrame, task: str) -> pd.DataFrame:
    """Add `oracle_ratio` and `observable_ratio`: (AUC-0.5)/(reference AUC-0.5), or Gini ratios for ltv.

    `board` has a `model` column and `test_<metric>` columns; the references are the rows named
    "oracle" (hidden state) and "oracle_observable" (observed history). Rows are returned best
    first. A ratio is NaN when its reference row is absent.
    """
    col = f"test_{headline_metric(task)}"
    shift = 0.5 if task != "ltv" else 0.0
    ratios = {name: _ratio(board, col, reference, shift) for reference, name in RATIO_COLUMNS.items()}
    return board.assign(**ratios).sort_values(col, ascending=False, kind="stable").reset_index(drop=True)
