"""Leaderboard arithmetic: the headline metric per task and the share of each oracle reached.

Two oracles can sit on a synthetic world's leaderboard: `oracle` (the generator's truth given its
hidden state and each user's latent traits: no model can know them) and `oracle_observable`
(the Bayes-optimal labels given only the observed history: the real limit for a model).
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from siyu.evaluation.intervals import Interval

ORACLE = "oracle"
ORACLE_OBSERVABLE = "oracle_observable"
RATIO_COLUMNS = {ORACLE: "oracle_ratio", ORACLE_OBSERVABLE: "observable_ratio"}


def headline_metric(kind: str) -> str:
    """'auc' for a binary task, 'gini' for an amount (LTV-like) task."""
    return {"binary": "auc", "amount": "gini"}[_checked_kind(kind)]


def _checked_kind(kind: str) -> str:
    if kind not in ("binary", "amount"):
        raise ValueError(f"task kind must be 'binary' or 'amount', got {kind!r}")
    return kind


def _ratio(board: pd.DataFrame, col: str, reference: str, shift: float) -> pd.Series:
    value = board.loc[board["model"] == reference, col]
    if len(value) and pd.notna(value.iloc[0]) and float(value.iloc[0]) - shift != 0:
        return (board[col] - shift) / (float(value.iloc[0]) - shift)
    return pd.Series(np.nan, index=board.index)


def add_oracle_ratio(board: pd.DataFrame, kind: str) -> pd.DataFrame:
    """Add `oracle_ratio` and `observable_ratio`: (AUC-0.5)/(reference AUC-0.5), or Gini ratios
    for an amount task.

    `board` has a `model` column and `test_<metric>` columns (and `valid_<metric>` for models);
    the references are the rows named "oracle" (hidden state) and "oracle_observable" (observed
    history). Rows are returned best on validation first (the choice reads validation only),
    then rows without a validation score (the oracles) by test. A ratio is NaN when its
    reference row is absent.
    """
    metric = headline_metric(kind)
    col = f"test_{metric}"
    shift = 0.5 if kind == "binary" else 0.0
    ratios = {name: _ratio(board, col, reference, shift) for reference, name in RATIO_COLUMNS.items()}
    keys = [k for k in (f"valid_{metric}", col) if k in board.columns]
    return (board.assign(**ratios).sort_values(keys, ascending=False, kind="stable", na_position="last")
            .reset_index(drop=True))


LEAK_WORDS = "likely leakage"


def leak_alarm(above_observable: Interval | None) -> str:
    """'likely leakage: ...' when a model's paired interval against the observable oracle lies
    wholly above zero (no honest model beats the Bayes-optimal use of the history), else ''."""
    if above_observable is None or not above_observable.low > 0:
        return ""
    return (f"{LEAK_WORDS}: {above_observable.value:+.4f} above {ORACLE_OBSERVABLE}, "
            f"{above_observable.level:.0%} interval [{above_observable.low:+.4f}, {above_observable.high:+.4f}]")


def leaderboard_html(task: str, cutoff: str, board: pd.DataFrame, per_cutoff: pd.DataFrame, protocol: str) -> str:
    """The leaderboard as one offline HTML page: the protocol, the board, the leak warning, per cutoff."""
    table = board.to_html(index=False, float_format=lambda v: f"{v:.4f}", na_rep="", border=0)
    wide = per_cutoff.pivot_table(index="model", columns="cutoff", values=per_cutoff.columns[-1]) \
        if not per_cutoff.empty else per_cutoff
    alarm = board["leak_alarm"].astype(str).str.len().gt(0).any() if "leak_alarm" in board else False
    warning = ("<p style='color:#c00;font-weight:bold'>A model beats the observable oracle beyond its interval: "
               "likely leakage. Look for features or labels that read past the cutoff.</p>") if alarm else ""
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>siyu leaderboard: {html.escape(task)}</title>"
            "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
            "td,th{padding:4px 10px;border-bottom:1px solid #ddd;text-align:right}</style></head><body>"
            f"<h1>Leaderboard: {html.escape(task)}</h1>{warning}<p>Test cutoffs {html.escape(cutoff)}. "
            f"{html.escape(protocol)} Rows are sorted by "
            "validation; test stands beside it. "
            "Two oracles from the synthetic world's truth, scored with the same metrics: "
            "<b>oracle</b> = the exact probabilities (or expected spend) given the generator's hidden "
            "state at the cutoff and each user's latent traits, which no model can observe; "
            "<b>oracle_observable</b> = the Bayes-optimal prediction given only the history a model sees "
            "(events before the cutoff and the users table), the real limit for a model. "
            "oracle_ratio = (AUC-0.5)/(oracle AUC-0.5) and observable_ratio = (AUC-0.5)/(oracle_observable "
            "AUC-0.5), or Gini ratios for LTV; an observable_ratio near 1 means little is left to learn.</p>"
            f"{table}<h2>Per test cutoff</h2>"
            f"{wide.to_html(float_format=lambda v: f'{v:.4f}', na_rep='', border=0) if len(wide) else ''}"
            "</body></html>")
