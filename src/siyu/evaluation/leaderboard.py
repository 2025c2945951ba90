"""Leaderboard arithmetic: the headline metric per task and the share of the oracle reached."""

from __future__ import annotations

import numpy as np
import pandas as pd

ORACLE = "oracle"


def headline_metric(task: str) -> str:
    """'gini' for ltv, 'auc' for the binary tasks."""
    return "gini" if task == "ltv" else "auc"


def add_oracle_ratio(board: pd.DataFrame, task: str) -> pd.DataFrame:
    """Add `oracle_ratio`: (AUC-0.5)/(oracle AUC-0.5), or Gini/oracle Gini for ltv.

    `board` has a `model` column and `test_<metric>` columns; the oracle row is named "oracle".
    Rows are returned best first. Without an oracle row the ratio is NaN.
    """
    col = f"test_{headline_metric(task)}"
    oracle = board.loc[board["model"] == ORACLE, col]
    shift = 0.5 if task != "ltv" else 0.0
    if len(oracle) and float(oracle.iloc[0]) - shift != 0:
        ratio = (board[col] - shift) / (float(oracle.iloc[0]) - shift)
    else:
        ratio = pd.Series(np.nan, index=board.index)
    return board.assign(oracle_ratio=ratio).sort_values(col, ascending=False, kind="stable").reset_index(drop=True)
