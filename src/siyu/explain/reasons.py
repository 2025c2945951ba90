"""Reason codes: the top drivers pushing a user's score up, as plain sentences in zh or en.

Sentences come from reason templates (frozen data, per feature unit and optionally family),
the feature catalogue's descriptions and the user's own value. A raw feature name never
appears in a sentence: a model feature missing from the catalogue is an error.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np
import pandas as pd

from siyu.explain.contributions import (
    DEFAULT_BATCH_ROWS,
    Contributions,
    TreeEstimator,
    iter_contributions,
)
from siyu.explain.vocab import CATEGORY_VALUES, CHANNELS, Lang, check_lang, word

When = Literal["any", "missing", "zero"]
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_SLOT = "\x00"


class FeatureInfoLike(Protocol):
    """A feature catalogue entry (`siyu.features.FeatureInfo`, INTERFACES.md §4)."""

    name: str
    family: str
    dtype: str
    unit: str
    desc_zh: str
    desc_en: str
    params: Mapping[str, Any]


@dataclass(frozen=True)
class ReasonTemplate:
    """One sentence pattern. Placeholders: {desc}, {value}, {days}, {channel}.

    A template applies to features of `unit` ('*' for any) and `family` (None for any), for
    values of kind `when` ('missing': no value, e.g. never purchased; 'zero'; 'any'). The first
    template that applies and whose placeholders the feature can fill is used.
    """

    unit: str
    zh: str
    en: str
    family: str | None = None
    when: When = "any"
    fields: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        names = set(_PLACEHOLDER.findall(self.zh)) | set(_PLACEHOLDER.findall(self.en))
        unknown = names - {"desc", "value", "days", "channel", "currency"}
        if unknown:
            raise ValueError(
                f"reason template {self.zh!r}: unknown placeholder(s) {sorted(unknown)}; "
                "use {desc}, {value}, {days}, {channel} or {currency}"
            )
        object.__setattr__(self, "fields", frozenset(names))

    def text(self, lang: Lang) -> str:
        return self.zh if lang == "zh" else self.en


# Specific first: the first match wins. Families and units are those of siyu.features' catalogue.
REASON_TEMPLATES: tuple[ReasonTemplate, ...] = (
    ReasonTemplate("count", "{desc}: {value} 分 (满分 5)", "{desc}: {value} of 5", family="rfm"),
    ReasonTemplate("count", "{desc}: {value} 天", "{desc}: {value}", family="active_days"),
    ReasonTemplate("count", "{desc}: {value} 个", "{desc}: {value}", family="distinct"),
    ReasonTemplate("days", "{desc}: 从未有过", "{desc}: never", when="missing"),
    ReasonTemplate("days", "{desc}: {value} 天", "{desc}: {value} days"),
    ReasonTemplate("count", "{desc}: 0 次 (一次也没有)", "{desc}: none", when="zero"),
    ReasonTemplate("count", "{desc}: {value} 次", "{desc}: {value}"),
    ReasonTemplate("amount", "{desc}: 无消费", "{desc}: no spend", when="missing"),
    ReasonTemplate("amount", "{desc}: {currency}{value}", "{desc}: {currency}{value}"),
    ReasonTemplate("ratio", "{desc}: 暂无", "{desc}: not available", when="missing"),
    ReasonTemplate("ratio", "{desc}: {value}", "{desc}: {value}"),
    ReasonTemplate("share", "{desc}: 暂无", "{desc}: not available", when="missing"),
    ReasonTemplate("share", "{desc}: {value}", "{desc}: {value}"),
    ReasonTemplate("category", "{desc}: 未知", "{desc}: unknown", when="missing"),
    ReasonTemplate("category", "{desc}为「{value}」", "{desc} is {value}"),
    ReasonTemplate("*", "{desc}: 暂无", "{desc}: not available", when="missing"),
    ReasonTemplate("*", "{desc}: {value}", "{desc}: {value}"),
)


# ----------------------------------------------------------------------------- values in words
def _number(x: float) -> str:
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.1f}"


def _amount(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 or float(x).is_integer() else f"{x:,.2f}"


_NUMERIC_FORMAT = {"days": lambda x: f"{x:,.0f}", "count": _number, "amount": _amount,
                   "ratio": lambda x: f"{x:.2f}", "share": lambda x: f"{x:.0%}"}


_UNIT_WORDS = {"days": ("{} 天", "{} days"), "count": ("{} 次", "{}"), "amount": ("{currency}{}", "{currency}{}")}
_FAMILY_UNIT_WORDS = {"active_days": ("{} 天", "{} days"), "distinct": ("{} 个", "{}"), "rfm": ("{} 分", "{} of 5")}


def format_value(info: FeatureInfoLike, value: Any, lang: Lang, *, with_unit: bool = False,
                 currency: str = "¥") -> str:
    """A user's value of one feature in words: '41', '1,250', '35%', '沉默用户' / 'silent'
    (with its unit, '41 天' / '¥1,250' in the dataset's `currency`, when `with_unit`)."""
    if info.dtype == "categorical" or info.unit == "category":
        return word(CATEGORY_VALUES.get(info.name, {}), value, lang)  # type: ignore[arg-type]
    text = _NUMERIC_FORMAT.get(info.unit, _number)(float(value))
    words = _FAMILY_UNIT_WORDS.get(info.family) or _UNIT_WORDS.get(info.unit)
    if with_unit and words:
        return words[0 if lang == "zh" else 1].replace("{currency}", currency).format(text)
    return text


def _value_kind(info: FeatureInfoLike, values: pd.Series) -> np.ndarray:
    """'missing' / 'zero' / 'any' per value."""
    missing = values.isna().to_numpy()
    kind = np.where(missing, "missing", "any").astype(object)
    if info.dtype != "categorical" and info.unit != "category":
        numeric = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        kind[(numeric == 0) & ~missing] = "zero"
    return kind


def _fill(info: FeatureInfoLike, lang: Lang, currency: str) -> dict[str, str]:
    params = dict(info.params or {})
    fills = {"desc": info.desc_zh if lang == "zh" else info.desc_en, "currency": currency}
    days = params.get("window_days", params.get("days"))
    if days is not None and not (isinstance(days, float) and math.isnan(days)):
        fills["days"] = str(int(days))
    if params.get("channel"):
        fills["channel"] = word(CHANNELS, params["channel"], lang)
    return fills


def _template_for(info: FeatureInfoLike, kind: str, fills: Mapping[str, str],
                  templates: Sequence[ReasonTemplate]) -> ReasonTemplate:
    unit = "category" if info.dtype == "categorical" else info.unit
    for tmpl in templates:
        if tmpl.unit not in ("*", unit) or tmpl.family not in (None, info.family):
            continue
        if tmpl.when not in ("any", kind) or (kind == "missing" and tmpl.when != "missing"):
            continue
        if tmpl.fields - {"value"} <= fills.keys() and (kind != "missing" or "value" not in tmpl.fields):
            return tmpl
    raise ValueError(
        f"reason templates: none fits feature '{info.name}' (unit {unit!r}, family {info.family!r}, "
        f"value {kind}); add a ReasonTemplate for unit {unit!r} or a '*' fallback"
    )


def sentences(info: FeatureInfoLike, values: pd.Series, lang: Lang,
              templates: Sequence[ReasonTemplate] = REASON_TEMPLATES, *, currency: str = "¥") -> np.ndarray:
    """One reason sentence per value of one feature (formatting each distinct value once);
    amounts are shown in the dataset's `currency`."""
    lang = check_lang(lang)
    values = values.reset_index(drop=True)
    kinds = _value_kind(info, values)
    fills = _fill(info, lang, currency)
    out = np.empty(len(values), dtype=object)
    for kind in ("missing", "zero", "any"):
        rows = np.flatnonzero(kinds == kind)
        if rows.size == 0:
            continue
        prefix, slot, suffix = _template_for(info, kind, fills, templates).text(lang).format(
            **fills, value=_SLOT).partition(_SLOT)
        if not slot:  # the template does not show the value
            out[rows] = prefix
            continue
        subset = values.iloc[rows]
        words = {v: format_value(info, v, lang) for v in pd.unique(subset)}
        out[rows] = [prefix + words[v] + suffix for v in subset]
    return out if lang == "zh" else np.array([_capitalized(s) for s in out], dtype=object)


def _capitalized(sentence: str) -> str:
    """English catalogue descriptions start lower case; a sentence starts with a capital."""
    return sentence[:1].upper() + sentence[1:]


# ----------------------------------------------------------------------------- top-k drivers
def catalog_by_name(catalog: Iterable[FeatureInfoLike], features: Sequence[str]) -> dict[str, FeatureInfoLike]:
    """The catalogue entries of `features`; an error naming any feature the catalogue lacks."""
    by_name = {info.name: info for info in catalog}
    missing = [f for f in features if f not in by_name]
    if missing:
        raise ValueError(
            f"feature catalogue: no description for {len(missing)} model feature(s), e.g. {missing[:5]}; "
            "reasons never show raw feature names: add them to the feature specs (desc_zh / desc_en)"
        )
    return {f: by_name[f] for f in features}


def top_driver_positions(values: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the column positions of the k largest positive values (largest first) and a mask
    of which of those are positive (a row may have fewer than k drivers pushing the score up)."""
    n, p = values.shape
    kk = min(k, p)
    if kk == 0:
        return np.zeros((n, 0), dtype=np.intp), np.zeros((n, 0), dtype=bool)
    pos = np.where(values > 0, values, -np.inf)
    idx = np.argpartition(-pos, kk - 1, axis=1)[:, :kk] if kk < p else np.tile(np.arange(p), (n, 1))
    picked = np.take_along_axis(pos, idx, axis=1)
    order = np.argsort(-picked, axis=1, kind="stable")
    idx = np.take_along_axis(idx, order, axis=1)
    return idx, np.take_along_axis(pos, idx, axis=1) > 0


def reasons_from_contributions(contrib: Contributions, raw: pd.DataFrame, catalog: Iterable[FeatureInfoLike],
                               *, lang: Lang = "zh", k: int = 3,
                               templates: Sequence[ReasonTemplate] = REASON_TEMPLATES,
                               currency: str = "¥") -> pd.DataFrame:
    """Columns `reason_1..reason_k` ('' when fewer drivers push the score up), index of `contrib`.

    `raw` holds the users' own values (columns the model saw, or their raw form before encoding).
    """
    lang = check_lang(lang)
    if k < 1:
        raise ValueError(f"k: expected at least 1 reason per user, got {k}")
    features = list(contrib.values.columns)
    infos = catalog_by_name(catalog, features)
    idx, positive = top_driver_positions(contrib.values.to_numpy(), k)
    out = np.full((len(contrib.values), k), "", dtype=object)
    for rank in range(idx.shape[1]):
        for j in np.unique(idx[positive[:, rank], rank]):
            rows = np.flatnonzero(positive[:, rank] & (idx[:, rank] == j))
            name = features[j]
            column = raw[name] if name in raw.columns else contrib.data[name]
            out[rows, rank] = sentences(infos[name], column.iloc[rows], lang, templates, currency=currency)
    return pd.DataFrame(out, index=contrib.values.index, columns=[f"reason_{i}" for i in range(1, k + 1)])


def top_reasons(estimator: TreeEstimator, X: pd.DataFrame, catalog: Iterable[FeatureInfoLike], *,
                lang: Lang = "zh", k: int = 3, templates: Sequence[ReasonTemplate] = REASON_TEMPLATES,
                batch_rows: int = DEFAULT_BATCH_ROWS, currency: str = "¥",
                on_rows: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """Top-k reasons per user (INTERFACES.md §7): columns `reason_1..reason_k`, index of `X`.

    Each reason is a feature whose SHAP value pushes this user's score up, largest first, said
    as a sentence with the user's own value (money in `currency`). Computed in row batches (memory
    stays bounded); `on_rows(done, total)` is told after each batch.
    """
    catalog = list(catalog)
    parts, start = [], 0
    for contrib in iter_contributions(estimator, X, batch_rows=batch_rows):
        raw = X.iloc[start : start + len(contrib.values)]
        start += len(contrib.values)
        part = reasons_from_contributions(contrib, raw, catalog, lang=lang, k=k, templates=templates,
                                          currency=currency)
        parts.append(part.set_axis(raw.index))
        if on_rows is not None:
            on_rows(start, len(X))
    if not parts:
        return pd.DataFrame({f"reason_{i}": pd.Series([], dtype=object) for i in range(1, k + 1)}, index=X.index)
    return pd.concat(parts)
