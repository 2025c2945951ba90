"""The explanation report: pure assembly of what operators and data scientists read.

`build_report` turns a champion, the scored users' features and bands, tag counts, the
leaderboard and held-out results into a `Report` (formatted rows and SVG charts);
`render_html` and `render_model_card` turn that into text. Writing files is the job's work
(`siyu.jobs.reporting`). Only whitelisted columns reach the report: pseudonymous user ids,
bands, scores, feature values in words; anything else in the inputs (PII) is never read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from siyu.explain.contributions import (
    Contributions,
    TreeEstimator,
    global_importance,
    segment_drivers,
    shap_contributions,
)
from siyu.explain.plots import bars, beeswarm, calibration, dependence
from siyu.explain.reasons import (
    FeatureInfoLike,
    catalog_by_name,
    format_value,
    reasons_from_contributions,
)
from siyu.explain.texts import report_text
from siyu.explain.vocab import BANDS, CATEGORY_VALUES, TAGS, Lang, check_lang, task_title, word


@dataclass(frozen=True)
class ModelInfo:
    """Which model the report explains and on which data it was trained."""

    task: str
    model_name: str
    model_version: str
    run_id: str
    as_of: str
    data_window: Mapping[str, str] = field(default_factory=dict)  # e.g. train / valid / test cutoffs
    label: str = ""  # the task's label kind (no_activity, any_purchase, net_spend, ...): titles the report
    horizon_days: int = 0


@dataclass(frozen=True)
class HeldOut:
    """How the model did on the last held-out period: metrics and, for calibration, labels and scores."""

    period: str
    metrics: Mapping[str, float]
    y_true: np.ndarray | None = None
    y_score: np.ndarray | None = None
    protocol: str = ""  # how the numbers were made: purge gaps, test cutoffs, intervals (one paragraph)


@dataclass(frozen=True)
class ReportInputs:
    """Everything the report shows. `scored` has `user_id, band, score` per scored user;
    `features` has `user_id` and the model's feature columns (other columns are ignored)."""

    model: ModelInfo
    feature_names: tuple[str, ...]
    features: pd.DataFrame
    scored: pd.DataFrame
    band_order: tuple[str, ...]
    catalog: Sequence[FeatureInfoLike]
    tag_counts: Mapping[str, pd.Series] = field(default_factory=dict)
    leaderboard: pd.DataFrame | None = None
    held_out: HeldOut | None = None
    reasons_k: int = 3
    band_tag: str = ""  # e.g. churn_risk; names the bands in the report
    currency: str = "¥"  # the dataset's (DatasetConfig.currency): how amounts are shown
    plays: Sequence[Any] = ()  # siyu.config.Play: the play for each band, shown beside it


@dataclass(frozen=True)
class Report:
    """The report's content, formatted for one language; rendered by `render_html` / `render_model_card`."""

    lang: Lang
    text: Mapping[str, str]
    title: str
    band_title: str
    model: ModelInfo
    n_users: int
    bands: list[dict[str, Any]]
    tags: list[dict[str, Any]]
    drivers: list[dict[str, Any]]
    examples: list[dict[str, Any]]
    importance: list[dict[str, Any]]
    metrics: list[dict[str, str]]
    leaderboard: dict[str, Any] | None
    features: list[dict[str, str]]
    images: Mapping[str, str]  # name -> an SVG document, inlined in the pages
    held_out_period: str | None
    protocol: str = ""
    card_file: str = ""  # the model card page beside the operator page (`<task>_model_card_<lang>.html`)
    # Finished HTML fragments appended to the operators' page (the contact plan, experiment readouts):
    # built and escaped by their own modules (siyu.decisions.report), inserted as they are.
    extra_sections: tuple[str, ...] = ()


def _check_inputs(inputs: ReportInputs, feature_names: Sequence[str]) -> None:
    missing = [c for c in ("user_id", "band", "score") if c not in inputs.scored.columns]
    if missing:
        raise ValueError(f"scored: missing column(s) {missing}; expected user_id, band, score per scored user")
    absent = [f for f in feature_names if f not in inputs.features.columns]
    if "user_id" not in inputs.features.columns or absent:
        raise ValueError(
            f"features: expected user_id and the model's {len(feature_names)} feature columns, "
            f"missing {(['user_id'] if 'user_id' not in inputs.features.columns else []) + absent[:5]}"
        )
    for name, frame in (("scored", inputs.scored), ("features", inputs.features)):
        dupes = frame["user_id"][frame["user_id"].duplicated()]
        if len(dupes):
            raise ValueError(f"{name}.user_id: {len(dupes)} duplicate id(s), e.g. {dupes.head(3).tolist()}; "
                             "expected one row per user (one as-of date)")
    unknown = sorted(set(inputs.scored["band"].astype(str)) - set(inputs.band_order))
    if unknown:
        raise ValueError(f"scored.band: values {unknown} are not among the configured bands {list(inputs.band_order)}")


def _shap_sample(users: pd.DataFrame, rows: int, rng: np.random.Generator) -> pd.DataFrame:
    """Up to `rows` users, every band kept (at least 200 users of each band when it has them)."""
    if len(users) <= rows:
        return users
    parts = []
    for _, group in users.groupby("band", observed=True, sort=False):
        take = min(len(group), max(200, round(rows * len(group) / len(users))))
        parts.append(group.iloc[np.sort(rng.choice(len(group), take, replace=False))])
    return pd.concat(parts)


def _typical(info: FeatureInfoLike, values: pd.Series, lang: Lang, currency: str) -> str:
    if values.dropna().empty:
        return "–"
    if info.dtype == "categorical" or info.unit == "category":
        return format_value(info, values.mode(dropna=True).iloc[0], lang)
    return format_value(info, float(values.median()), lang, with_unit=True, currency=currency)


def _feature_label(info: FeatureInfoLike, lang: Lang) -> str:
    return info.desc_zh if lang == "zh" else info.desc_en


def band_tones(label: str, n: int) -> list[str]:
    """A colour meaning per band, first (highest score) band first: a risk (the label says the user
    goes away) runs bad → warn → good; a value or an intent runs top → high → mid → neutral."""
    if n <= 0:
        return []
    if label == "no_activity":
        return (["bad"] + ["warn"] * (n - 2) + ["good"])[:n] if n > 1 else ["bad"]
    return (["top", "high"] + ["mid"] * max(n - 3, 0) + ["neutral"])[:n] if n > 2 else ["top", "neutral"][:n]


def _score_text(value: float, inputs: ReportInputs, lang: Lang) -> str:
    """A probability as 0.123; an amount (net spend) in the dataset's currency ('¥1,250.0')."""
    if value != value:  # NaN
        return "–"
    if inputs.model.label == "net_spend":
        return f"{inputs.currency}{value:,.1f}"
    return f"{value:.3f}"


def _band_rows(scored: pd.DataFrame, inputs: ReportInputs, lang: Lang) -> list[dict[str, Any]]:
    from siyu.scoring.playbook import play_for

    order = inputs.band_order
    counts = scored["band"].astype(str).value_counts().reindex(order, fill_value=0)
    total = max(int(counts.sum()), 1)
    mean_score = scored.groupby(scored["band"].astype(str))["score"].mean()
    tones = band_tones(inputs.model.label, len(order))
    return [{"band": b, "label": word(BANDS, b, lang), "users": int(n), "share": f"{n / total:.1%}",
             "mean_score": _score_text(mean_score.get(b, float("nan")), inputs, lang), "tone": tone,
             "play": play_for({inputs.band_tag: b}, inputs.plays, lang) if inputs.plays and inputs.band_tag else ""}
            for (b, n), tone in zip(counts.items(), tones, strict=True)]


def _tag_rows(tag_counts: Mapping[str, pd.Series], lang: Lang) -> list[dict[str, Any]]:
    rows = []
    for tag, counts in tag_counts.items():
        total = max(int(counts.sum()), 1)
        values = [{"value": word(CATEGORY_VALUES.get(tag, BANDS), v, lang), "users": int(n), "share": f"{n / total:.1%}"}
                  for v, n in counts.items()]
        rows.append({"tag": word(TAGS, tag, lang), "values": values})
    return rows


def _driver_rows(contrib: Contributions, sample: pd.DataFrame, infos: Mapping[str, FeatureInfoLike],
                 band_sizes: Mapping[str, int], order: Sequence[str], lang: Lang, top_n: int,
                 currency: str, tones: Sequence[str]) -> list[dict[str, Any]]:
    bands = pd.Series(sample["band"].astype(str).to_numpy(), index=contrib.values.index)
    drivers = segment_drivers(contrib, bands, top_n=top_n)
    out = []
    for band, tone in zip(order, tones, strict=True):
        rows = drivers[(drivers["segment"] == band) & (drivers["mean_shap"] > 0)]
        in_band = (bands == band).to_numpy()
        out.append({"band": band, "label": word(BANDS, band, lang), "users": int(band_sizes.get(band, 0)), "tone": tone,
                    "features": [
            {"feature": _feature_label(infos[f], lang), "mean_shap": f"{v:+.3f}",
             "typical": _typical(infos[f], contrib.data[f][in_band], lang, currency),
             "typical_all": _typical(infos[f], contrib.data[f], lang, currency)}
            for f, v in zip(rows["feature"], rows["mean_shap"], strict=True)]})
    return out


def _example_rows(estimator: TreeEstimator, inputs: ReportInputs, features: pd.DataFrame, lang: Lang,
                  per_band: int, rng: np.random.Generator) -> list[dict[str, Any]]:
    picked = []
    for band in inputs.band_order:
        group = features[features["band"].astype(str) == band]
        if len(group):
            take = group.iloc[np.sort(rng.choice(len(group), min(per_band, len(group)), replace=False))]
            picked.append(take.sort_values("score", ascending=False, kind="stable"))
    if not picked:
        return []
    examples = pd.concat(picked)
    names = list(inputs.feature_names)
    contrib = shap_contributions(estimator, examples[names])
    reasons = reasons_from_contributions(contrib, examples[names], inputs.catalog, lang=lang, k=inputs.reasons_k,
                                         currency=inputs.currency)
    return [{"user_id": str(u), "band": word(BANDS, b, lang), "score": _score_text(float(s), inputs, lang),
             "reasons": [r for r in reasons.iloc[i].tolist() if r]}
            for i, (u, b, s) in enumerate(zip(examples["user_id"], examples["band"].astype(str), examples["score"],
                                              strict=True))]


def _metric_rows(held_out: HeldOut | None) -> list[dict[str, str]]:
    """One row per metric; a metric with `<name>_ci_low` / `_ci_high` shows its interval beside it."""
    if held_out is None:
        return []
    metrics = held_out.metrics
    rows = []
    for name, value in sorted(metrics.items()):
        if name.endswith(("_ci_low", "_ci_high")):
            continue
        low, high = metrics.get(f"{name}_ci_low"), metrics.get(f"{name}_ci_high")
        shown = f"{value:.4f}" if low is None or high is None else f"{value:.4f} [{low:.4f}, {high:.4f}]"
        rows.append({"metric": name, "value": shown})
    return rows


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.0f}" if value.is_integer() and abs(value) >= 1 else f"{value:.4f}"
    return str(value)


def _leaderboard(board: pd.DataFrame | None) -> dict[str, Any] | None:
    if board is None or board.empty:
        return None
    rows = [[_cell(v) for v in row] for row in board.astype(object).itertuples(index=False)]
    return {"columns": [str(c) for c in board.columns], "rows": rows}


def build_report(estimator: TreeEstimator, inputs: ReportInputs, *, lang: Lang = "zh", examples_per_band: int = 5,
                 shap_rows: int = 3000, top_features: int = 10, dependence_plots: int = 3,
                 random_state: int = 0) -> Report:
    """Assemble the report: bands and tags, SHAP drivers per band, example users with reasons,
    held-out metrics, leaderboard and the model card's feature list, with charts as SVG."""
    lang = check_lang(lang)
    text = report_text(lang)
    rng = np.random.default_rng(random_state)
    names = list(inputs.feature_names)
    _check_inputs(inputs, names)
    infos = catalog_by_name(inputs.catalog, names)
    scored = inputs.scored[["user_id", "band", "score"]]
    users = scored.merge(inputs.features[["user_id", *names]], on="user_id", how="inner", validate="one_to_one")
    if users.empty:
        raise ValueError("scored users: none of them has features at the report's as-of date; "
                         "run `siyu score` and keep its features file, then report again")
    sample = _shap_sample(users, shap_rows, rng).reset_index(drop=True)
    contrib = shap_contributions(estimator, sample[names])
    # Charts are SVG text in the page, drawn by the reader's browser, so they speak the page's language.
    labels = {f: _feature_label(infos[f], lang) for f in names}
    importance = global_importance(contrib)
    axis_text = {"x": text["shap_x"], "colour": text["feature_value"], "low": text["low"], "high": text["high"],
                 "others": text["others"]}
    band_counts = scored["band"].astype(str).value_counts().reindex(inputs.band_order, fill_value=0)
    images = {"beeswarm": beeswarm(contrib, labels, max_display=min(top_features, len(names)), axis_text=axis_text),
              "bands": bars(band_counts.rename(lambda b: word(BANDS, b, lang)), title=text["band_chart"],
                            xlabel=text["users"])}
    images.update({f"dependence_{i}": dependence(contrib, f, labels, ylabel=text["shap_y"])
                   for i, f in enumerate(importance["feature"].head(dependence_plots))})
    held = inputs.held_out
    if held is not None and held.y_true is not None and held.y_score is not None and len(held.y_true):
        images["calibration"] = calibration(held.y_true, held.y_score, title=text["calibration"],
                                            xlabel=text["predicted"], ylabel=text["observed"])
    return Report(
        lang=lang, text=text, title=f"{text['title']} · {_task_title(inputs.model, lang)}", model=inputs.model,
        band_title=word(TAGS, inputs.band_tag, lang) if inputs.band_tag else text["band"], n_users=len(scored), bands=_band_rows(scored, inputs, lang),
        tags=_tag_rows(inputs.tag_counts, lang),
        drivers=_driver_rows(contrib, sample, infos, scored["band"].astype(str).value_counts().to_dict(),
                             inputs.band_order, lang, top_n=5, currency=inputs.currency,
                             tones=band_tones(inputs.model.label, len(inputs.band_order))),
        examples=_example_rows(estimator, inputs, users, lang, examples_per_band, rng),
        importance=[{"feature": _feature_label(infos[f], lang), "name": f, "mean_abs_shap": f"{v:.3f}",
                     "share": f"{s:.1%}"} for f, v, s in importance.head(top_features).itertuples(index=False)],
        metrics=_metric_rows(held), leaderboard=_leaderboard(inputs.leaderboard),
        features=[{"name": i.name, "family": i.family, "unit": i.unit, "desc": _feature_label(i, lang)}
                  for i in infos.values()],
        images=images, held_out_period=held.period if held else None, protocol=held.protocol if held else "",
        card_file=model_card_file(inputs.model.task, lang),
    )


def report_file(task: str, lang: str) -> str:
    """The operator page's file name: one per language."""
    return f"{task}_report_{lang}.html"


def model_card_file(task: str, lang: str, ext: str = "html") -> str:
    """The model card's file name (html or md): one per language."""
    return f"{task}_model_card_{lang}.{ext}"


def _task_title(model: ModelInfo, lang: Lang) -> str:
    return task_title(model.label, model.horizon_days, lang) if model.label else model.task


def _environment() -> Any:
    import jinja2

    return jinja2.Environment(loader=jinja2.PackageLoader("siyu.explain", "templates"),
                              autoescape=jinja2.select_autoescape(["html", "html.j2"]), undefined=jinja2.StrictUndefined,
                              trim_blocks=True, lstrip_blocks=True)


def render_html(report: Report) -> str:
    """The operators' page: who is in which band, what to do, why, example users. Self-contained
    (plots embedded); the data scientists' material is on the model card page it links to."""
    return _environment().get_template("report.html.j2").render(r=report, t=report.text)


def render_model_card_html(report: Report) -> str:
    """The data scientists' page: what matters overall (SHAP), held-out metrics and calibration, the
    leaderboard, the data window and the feature list. Self-contained."""
    return _environment().get_template("model_card.html.j2").render(r=report, t=report.text)


def render_model_card(report: Report) -> str:
    """The model card as Markdown, for data scientists (also a section of the HTML report)."""
    return _environment().get_template("model_card.md.j2").render(r=report, t=report.text)
