"""BTYD outputs as booster features: BG/NBD (and Gamma-Gamma for spend) fitted on the training
rows' own BTYD summaries only, then applied to any row's point-in-time summary.

A booster given the `btyd_*` summary columns (`siyu.features.btyd_summary`) also sees, per row,
P(alive), P(a purchase in the task's horizon), E[purchases in the horizon] and, for spend, the
Gamma-Gamma spend per purchase. The parameters come from the training rows alone (never a label,
never a later cutoff), so these columns are as point-in-time as the summaries they are read from.
Explanations fold each derived column back into the summary columns it is computed from
(`sources`), so reasons speak of purchases and days, never of a model's output.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from siyu.models import btyd

MIN_BUYERS = 50  # fewer rows with a repeat history than this: no stable fit, no columns


@dataclass(frozen=True)
class BTYDFeatures:
    """Fitted BTYD parameters and the columns they add."""

    horizon_days: int
    bgnbd: btyd.BGNBDParams
    spend: btyd.GammaGammaParams | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        h = self.horizon_days
        own = ("btyd_p_alive", f"btyd_p_any_{h}d", f"btyd_expected_{h}d")
        return own + (("btyd_expected_spend",) if self.spend is not None else ())

    @property
    def sources(self) -> tuple[str, ...]:
        """The summary columns every derived column is computed from."""
        x, t_x, T, m = btyd.SUMMARY_COLUMNS
        return (x, t_x, T) + ((m,) if self.spend is not None else ())

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """The derived columns for the rows of `X` (NaN where the row has no purchase yet)."""
        x, t_x, T, m = (X[c].to_numpy(dtype=float) for c in btyd.SUMMARY_COLUMNS)
        buyer = ~np.isnan(x)
        xs, txs, Ts = (np.where(buyer, v, 0.0) for v in (x, np.minimum(t_x, T), T))
        h = float(self.horizon_days)
        with np.errstate(all="ignore"):
            values = {
                "btyd_p_alive": btyd.bgnbd_p_alive(self.bgnbd, xs, txs, Ts),
                f"btyd_p_any_{self.horizon_days}d": btyd.bgnbd_p_any_purchase(self.bgnbd, h, xs, txs, Ts),
                f"btyd_expected_{self.horizon_days}d": btyd.bgnbd_expected_purchases(self.bgnbd, h, xs, txs, Ts),
            }
            if self.spend is not None:
                values["btyd_expected_spend"] = btyd.gamma_gamma_expected_spend(
                    self.spend, np.where(buyer, x + 1, 0.0), np.where(buyer, m, np.nan))
        return pd.DataFrame({k: np.where(buyer, v, np.nan) for k, v in values.items()}, index=X.index)


def fit_btyd_features(X: pd.DataFrame, horizon_days: int, *, spend: bool) -> BTYDFeatures | None:
    """Fit on the training rows of `X`; None when the summaries are absent or too few rows have a
    repeat purchase to fit (the booster then trains on its features alone)."""
    if not all(c in X.columns for c in btyd.SUMMARY_COLUMNS):
        return None
    x, t_x, T, m = (X[c].to_numpy(dtype=float) for c in btyd.SUMMARY_COLUMNS)
    buyer = ~np.isnan(x)
    if (x[buyer] > 0).sum() < MIN_BUYERS:
        return None
    keys = pd.DataFrame({"x": x[buyer], "t_x": np.minimum(t_x, T)[buyer], "T": T[buyer]})
    distinct = keys.value_counts().reset_index(name="n")  # pooled cutoffs repeat summaries: fit each once
    try:
        params = btyd.fit_bgnbd(distinct["x"], distinct["t_x"], distinct["T"], weights=distinct["n"])
        spend_params = None
        if spend:
            money = pd.DataFrame({"n": x[buyer] + 1, "m": np.nan_to_num(m[buyer], nan=0.0)})
            money = money[money["m"] > 0].value_counts().reset_index(name="w")
            spend_params = btyd.fit_gamma_gamma(money["n"], money["m"], weights=money["w"])
    except (ValueError, RuntimeError):  # a degenerate history: no columns rather than a failed fit
        return None
    return BTYDFeatures(horizon_days=int(horizon_days), bgnbd=params, spend=spend_params)
