"""Recommended plays: a user's tags -> the first matching play's action, in zh or en (pure)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from siyu.config import Play

_NUMBERED = re.compile(r"^(.*)_\d+$")


def _base(values: pd.Series) -> pd.Series:
    """A numbered segment key (`steady_regular_2`) without its number."""
    return values.astype("string").str.replace(_NUMBERED, r"\1", regex=True)


def next_actions(tags: pd.DataFrame, plays: Sequence[Play], lang: str = "zh") -> pd.Series:
    """Per row of `tags` (a column per tag, values as exported), the action of the first play whose
    conditions all hold; empty string when none does. A play naming a tag absent from `tags` never fits."""
    chosen = np.full(len(tags), "", dtype=object)
    open_rows = np.ones(len(tags), dtype=bool)
    for play in plays:
        if not set(play.when) <= set(tags.columns):
            continue
        fits = open_rows.copy()
        for tag in play.when:
            values = tags[tag]
            wanted = list(play.values(tag))
            fits &= (values.astype("string").isin(wanted) | _base(values).isin(wanted)).fillna(False).to_numpy(bool)
        chosen[fits] = play.action_zh if lang == "zh" else play.action_en
        open_rows &= ~fits
    return pd.Series(chosen, index=tags.index, name="next_action")


def play_for(tags: Mapping[str, str], plays: Sequence[Play], lang: str = "zh") -> str:
    """The action for one combination of tag values (e.g. a segment alone in a report)."""
    frame = pd.DataFrame({k: [v] for k, v in tags.items()})
    return str(next_actions(frame, plays, lang).iloc[0])
