"""Cut scores into named bands (high / medium / low, A..D), with hysteresis between runs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from siyu.config import BandConfig


def quantile_rank(scores: np.ndarray) -> np.ndarray:
    """Each score's share of the population at or below it, in (0, 1] (ties share the top rank)."""
    scores = np.asarray(scores, dtype="float64")
    n = len(scores)
    if n == 0:
        return np.empty(0, dtype="float64")
    order = np.sort(scores)
    # "at or below": the rank of a tie is its last position, so tied users share one band.
    return np.searchsorted(order, scores, side="right") / n


def band_value(scores: np.ndarray, band: BandConfig) -> np.ndarray:
    """The value the band edges apply to: the score itself, or its quantile rank."""
    scores = np.asarray(scores, dtype="float64")
    return quantile_rank(scores) if band.method == "quantile" else scores


def label_codes(values: pd.Series | pd.Categorical | np.ndarray, labels: list[str]) -> np.ndarray:
    """Position of each value in `labels` (-1: missing or not a label); fast for categoricals."""
    if isinstance(values, pd.Series):
        values = values.array
    if isinstance(values, pd.Categorical):
        return values.set_categories(list(labels)).codes.astype("int64")
    return pd.Categorical(np.asarray(values, dtype=object), categories=list(labels)).codes.astype("int64")


def _band_index(values: np.ndarray, edges: tuple[float, ...]) -> np.ndarray:
    # edges are descending: band 0 holds values >= edges[0], the last band everything below.
    return np.searchsorted(-np.asarray(edges, dtype="float64"), -values, side="left").astype("int64")


def _band_bounds(edges: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) bound of each band, band 0 first: band i covers [lower[i], upper[i])."""
    e = np.asarray(edges, dtype="float64")
    upper = np.concatenate([[np.inf], e])
    lower = np.concatenate([e, [-np.inf]])
    return lower, upper


def assign_bands(
    scores: np.ndarray,
    band: BandConfig,
    previous: pd.Series | np.ndarray | pd.Categorical | None = None,
) -> pd.Categorical:
    """Band label per score (a Categorical in band order); with `previous` labels, hysteresis
    keeps a user near an edge in place.

    A user keeps the previous band while the value stays inside that band widened by
    `band.hysteresis` on both sides; only a move past an edge by more than the margin changes
    the label. Users without a previous label (new, or a label no longer configured) get the
    plain band. For quantile bands the value is the quantile rank. NaN scores raise.
    """
    values = band_value(scores, band)
    if np.isnan(values).any():
        bad = int(np.isnan(values).sum())
        raise ValueError(
            f"band '{band.tag}': {bad} NaN score(s) from the '{band.task}' model; "
            "a champion must score every user (check its features for missing columns)"
        )
    index = _band_index(values, band.edges)
    if previous is not None and band.hysteresis > 0:
        index = _apply_hysteresis(values, index, previous, band)
    return pd.Categorical.from_codes(index, categories=list(band.labels))


def _apply_hysteresis(
    values: np.ndarray, index: np.ndarray, previous: pd.Series | np.ndarray | pd.Categorical, band: BandConfig
) -> np.ndarray:
    if len(previous) != len(values):
        raise ValueError(
            f"band '{band.tag}': {len(previous)} previous labels for {len(values)} scores; "
            "align the previous tags to the scored users first"
        )
    # unknown labels and missing previous tags become code -1: no hysteresis for them
    prev_index = label_codes(previous, list(band.labels))
    known = prev_index >= 0
    lower, upper = _band_bounds(band.edges)
    safe = np.where(known, prev_index, 0)
    h = band.hysteresis
    stays = known & (values >= lower[safe] - h) & (values < upper[safe] + h)
    return np.where(stays, prev_index, index)
