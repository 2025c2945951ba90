"""Report and explain jobs: champion + scored users + tags -> HTML report, model card, reasons.

`write_report` reads the champion (MLflow), the current tags (tag store), the features at the
tags' as-of date, the held-out test split and the leaderboard, calls the pure
`siyu.explain.report` core and writes `<reports_dir>/<task>_report_<lang>.html` and
`<task>_model_card_<lang>.md` (each language its own files: an English run never overwrites the Chinese). `explain_user` says why one user got their score.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from siyu.config import BandConfig, SiyuConfig, TaskConfig, mask_url
from siyu.evaluation.protocol import protocol_text
from siyu.explain.vocab import Lang, check_lang

RULE_TAGS = ("lifecycle_stage", "rfm_segment")

T = TypeVar("T")


class ReportInputsMissing(FileNotFoundError):
    """An input the report needs has not been produced yet (names the command that makes it)."""


@dataclass(frozen=True)
class ReportFiles:
    """What `write_report_files` wrote."""

    html: Path
    model_card: Path  # Markdown
    model_card_html: Path
    users: int
    as_of: str
    model_version: str


def _band(cfg: SiyuConfig, task: str) -> BandConfig:
    cfg.task(task)  # an unknown task is a KeyError naming the configured ones
    band = next((b for b in cfg.scoring.bands if b.task == task), None)
    if band is None:
        raise ValueError(f"scoring.bands: no band tag for task '{task}'; add one to configs/siyu.yaml to report on it")
    return band


def champion_specs(cfg: SiyuConfig, champion: Any) -> Any:
    """The feature specs the champion was trained on (as scoring builds them)."""
    from siyu.io.workspace import trained_specs

    return trained_specs(cfg, {getattr(champion, "model_name", "champion"): champion})


def feature_catalog_of(cfg: SiyuConfig, champion: Any) -> list[Any]:
    """The feature catalogue of the champion's own feature specs."""
    from siyu.features.catalog import feature_catalog

    return feature_catalog(champion_specs(cfg, champion))


def _read_published(cfg: SiyuConfig, read: Callable[[Any], T]) -> tuple[Any, T]:
    """(the current scoring run, `read(store)`) from the tag store opened read-only;
    ReportInputsMissing before its first published scoring run."""
    from siyu.io.tagstore import open_tag_store

    store = open_tag_store(cfg.scoring.tag_store_url, read_only=True)
    try:
        run = store.current_run()
        if run is None:
            raise _no_published_run(cfg)
        return run, read(store)
    finally:
        store.close()


def _no_published_run(cfg: SiyuConfig) -> ReportInputsMissing:
    return ReportInputsMissing(f"tag store {mask_url(cfg.scoring.tag_store_url)}: no published scoring run; "
                               "run `siyu score` first")


def _published(cfg: SiyuConfig) -> tuple[pd.DataFrame, dict]:
    """(current tags, the model versions of the run that published them)."""
    run, view = _read_published(cfg, lambda store: store.read_current_view())
    if view.empty:
        raise _no_published_run(cfg)
    return view, dict(run.model_versions or {})


def _published_champion(cfg: SiyuConfig, task: str, versions: dict) -> Any:
    """The model version that published `task`'s current tags (not whatever holds the alias now: a
    promotion whose scoring run was blocked must not relabel the tags on show)."""
    from siyu.tracking import load_champion

    entry = versions.get(task)
    version = entry.get("version") if isinstance(entry, dict) else entry
    return load_champion(task, cfg.tracking, version=str(version) if version else None)


def features_at(cfg: SiyuConfig, as_of: str, feature_names: list[str], specs: Any, *,
                user_id: str | None = None) -> pd.DataFrame:
    """`user_id` and `feature_names` at `as_of`, read from `<work>/features/features_<as_of>.parquet`
    when scoring wrote it, else built from the clean events with `specs` (as batch scoring does).
    Only these columns are read: nothing else in the file (never PII) reaches the report; with
    `user_id`, only that user's row (none when the user was not scored)."""
    from siyu.features.build import to_feature_frame

    folder = cfg.paths.work_dir / "features"
    day = str(as_of)[:10]
    candidates = sorted(folder.glob(f"features_{day}*.parquet")) if folder.exists() else []
    columns = ["user_id", *feature_names]
    if candidates:
        # pyarrow decodes the other columns only where user_id matches (a row group at most)
        filters = None if user_id is None else [("user_id", "==", str(user_id))]
        return to_feature_frame(pd.read_parquet(candidates[-1], columns=columns, filters=filters), specs)
    clean = cfg.paths.clean_events
    from siyu.io.cleanlog import has_clean_events

    if not has_clean_events(clean):
        raise ReportInputsMissing(
            f"{folder}/features_{day}.parquet: no features at the scoring as-of date {day}, and no clean events "
            f"in {clean} to build them; run `siyu validate` then `siyu features --as-of {day}`"
        )
    from siyu.io.workspace import build_features_at, load_features

    frame = load_features(build_features_at(cfg, dt.date.fromisoformat(day), specs), specs)[columns]
    return frame if user_id is None else frame[frame["user_id"].astype(str) == str(user_id)]


def _held_out(cfg: SiyuConfig, task: str, champion: Any, lang: str) -> tuple[Any, dict[str, str]]:
    """HeldOut metrics and calibration data from the champion's run and the test split; the data window."""
    from siyu.explain.report import HeldOut
    from siyu.tracking.registry import list_versions

    info = next((v for v in list_versions(task, cfg.tracking) if v.version == str(champion.model_version)), None)
    metrics = {k: float(v) for k, v in (info.metrics if info else {}).items() if k.startswith("test_")}
    window: dict[str, str] = {}
    y_true = y_score = None
    period = protocol = ""
    if (cfg.paths.trainsets_dir / task / "trainset.parquet").exists():
        from siyu.io.workspace import load_task_data

        frame, manifest, _ = load_task_data(cfg, task)
        cutoffs = manifest.get("cutoffs", {})
        protocol = protocol_text(manifest, cfg.training.n_bootstrap, lang)
        window = {split: _span(cutoffs.get(split, [])) for split in ("train", "valid", "test") if cutoffs.get(split)}
        if manifest.get("data_end"):
            window["data_end"] = str(manifest["data_end"])
        test = frame[frame["split"] == "test"]
        if len(test):
            y_true = test["label"].to_numpy()
            y_score = champion.predict_score(test[list(champion.feature_names)])
            period = window.get("test", "")
    return HeldOut(period=period, metrics=metrics, y_true=y_true, y_score=y_score, protocol=protocol), window


def _span(values: Any) -> str:
    days = sorted(str(v)[:10] for v in (values if isinstance(values, list | tuple) else [values]))
    return days[0] if len(days) == 1 else f"{days[0]} … {days[-1]} ({len(days)})"


def _leaderboard(cfg: SiyuConfig, task: str) -> pd.DataFrame | None:
    path = cfg.paths.reports_dir / f"leaderboard_{task}.csv"
    return pd.read_csv(path) if path.exists() else None


def _tag_counts(view: pd.DataFrame) -> dict[str, pd.Series]:
    from siyu.explain.vocab import CATEGORY_VALUES

    out = {}
    for tag in RULE_TAGS:
        values = view.loc[view["tag"] == tag, "value"].astype(str)
        if len(values):
            counts = values.value_counts()
            known = [k for k in CATEGORY_VALUES[tag] if k in counts.index]
            out[tag] = counts.reindex(known + sorted(set(counts.index) - set(known)))
    return out


def build_task_report(cfg: SiyuConfig, task: str, lang: Lang) -> tuple[Any, Any]:
    """(Report, Champion) for `task`: reads every input, then calls `siyu.explain.report.build_report`."""
    from siyu.explain.report import ModelInfo, ReportInputs, build_report

    band = _band(cfg, task)
    view, versions = _published(cfg)
    champion = _published_champion(cfg, task, versions)
    tags = view[view["tag"] == band.tag]
    if tags.empty:
        raise ReportInputsMissing(f"tag store: the current run has no '{band.tag}' tags; run `siyu score` with a {task} champion")
    as_of = str(tags["as_of"].iloc[0])[:10]
    scored = pd.DataFrame({"user_id": tags["user_id"].astype(str).to_numpy(), "band": tags["value"].astype(str).to_numpy(),
                           "score": tags["score"].astype(float).to_numpy()})
    features = features_at(cfg, as_of, list(champion.feature_names), champion_specs(cfg, champion))
    features = features.assign(user_id=features["user_id"].astype(str))
    features = features[features["user_id"].isin(scored["user_id"])]
    held_out, window = _held_out(cfg, task, champion, lang)
    inputs = ReportInputs(
        model=ModelInfo(task=task, model_name=champion.model_name, model_version=str(champion.model_version),
                        run_id=champion.run_id, as_of=as_of, data_window=window, label=cfg.task(task).label,
                        horizon_days=cfg.task(task).horizon_days),
        feature_names=tuple(champion.feature_names), features=features, scored=scored, band_order=band.labels,
        catalog=feature_catalog_of(cfg, champion), tag_counts=_tag_counts(view), leaderboard=_leaderboard(cfg, task),
        held_out=held_out, reasons_k=cfg.scoring.reasons_top_k or 3, band_tag=band.tag,
        currency=cfg.dataset.currency, plays=cfg.playbook.plays,
    )
    report = build_report(champion.estimator, inputs, lang=lang, random_state=cfg.training.seed)
    return replace(report, extra_sections=decision_sections(cfg, lang, view)), champion


def _latest_plan(cfg: SiyuConfig) -> tuple[dict, pd.DataFrame] | None:
    """The current contact plan (`siyu target`): its meta and rows, or None before the first."""
    import json

    from siyu.io.tagstore import open_tag_store

    store = open_tag_store(cfg.scoring.tag_store_url, read_only=True)
    try:
        run = store.current_run("plan")
    finally:
        store.close()
    if run is None:
        return None
    path = cfg.paths.reports_dir / "plans" / f"{run.run_id}.parquet"
    if not (path.exists() and path.with_suffix(".json").exists()):
        return None
    return json.loads(path.with_suffix(".json").read_text(encoding="utf-8")), pd.read_parquet(path)


def _readouts(cfg: SiyuConfig, newest: int = 5) -> list[dict]:
    """The newest experiment readouts (`siyu experiment` writes `<reports>/experiments/<id>.json`)."""
    import json

    folder = cfg.paths.reports_dir / "experiments"
    files = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)[:newest] if folder.exists() else []
    return [json.loads(f.read_text(encoding="utf-8")) for f in files]


def decision_sections(cfg: SiyuConfig, lang: str, view: pd.DataFrame | None = None) -> tuple[str, ...]:
    """The operators' page's decision sections: the current contact plan (who gets what, expected
    gain by lifecycle stage and segment, budget used) and the measured lift of past experiments
    (`siyu.decisions.report.past_readouts_html`); empty before the first plan and readout."""
    from siyu.decisions.report import past_readouts_html, plan_section_html

    sections = []
    latest = _latest_plan(cfg)
    if latest is not None:
        segments = None
        if view is not None and cfg.segments.tag in set(view["tag"]):
            rows = view[view["tag"] == cfg.segments.tag]
            segments = pd.Series(rows["value"].to_numpy(), index=rows["user_id"].astype(str).to_numpy())
        sections.append(plan_section_html(latest[0], latest[1], lang, segments))
    readouts = _readouts(cfg)
    if latest is not None or readouts:
        sections.append(past_readouts_html(readouts, lang))
    return tuple(sections)


def write_report_files(cfg: SiyuConfig, task: str, lang: str | None = None) -> ReportFiles:
    """Write the operators' page `<reports_dir>/<task>_report_<lang>.html` and the data scientists'
    model card `<task>_model_card_<lang>.html` (both self-contained) and `.md`."""
    from siyu.explain.report import (
        model_card_file,
        render_html,
        render_model_card,
        render_model_card_html,
        report_file,
    )

    lang = check_lang(lang or cfg.scoring.lang)
    report, champion = build_task_report(cfg, task, lang)
    out = cfg.paths.reports_dir
    out.mkdir(parents=True, exist_ok=True)
    html, card = out / report_file(task, lang), out / model_card_file(task, lang, "md")
    card_html = out / model_card_file(task, lang)
    html.write_text(render_html(report), encoding="utf-8")
    card_html.write_text(render_model_card_html(report), encoding="utf-8")
    card.write_text(render_model_card(report), encoding="utf-8")
    return ReportFiles(html=html, model_card=card, model_card_html=card_html, users=report.n_users,
                       as_of=report.model.as_of, model_version=str(champion.model_version))


def write_report(cfg: SiyuConfig, task: str, lang: str | None = None) -> Path:
    """The report for `task` (INTERFACES.md §9): writes the HTML and the model card, returns the HTML path."""
    return write_report_files(cfg, task, lang).html


@dataclass(frozen=True)
class Explanation:
    """Why one user got their `task` score: the band and score on show, and the top reasons."""

    user_id: str
    task: str
    as_of: str
    band: str | None  # None when the task has no band tag configured
    score: float | None
    reasons: tuple[str, ...]  # empty: nothing pushes the score up
    source: str  # "tags": the reason tags the scoring run wrote; "model": computed now by its champion


def explain_user(cfg: SiyuConfig, task: str, user_id: str, lang: str | None = None) -> Explanation:
    """Why `user_id` got their `task` score, in sentences.

    Reads only this user's tags (and, when needed, feature row): explaining one user costs the same
    for a thousand users as for a million. When the scoring run wrote this user's reason tags in
    `lang`, those are the answer (the words the operator sees on the user, no model to load);
    otherwise the champion that published the score explains the features it scored."""
    lang = check_lang(lang or cfg.scoring.lang)
    spec = cfg.task(task)
    band = next((b for b in cfg.scoring.bands if b.task == task), None)
    uid = str(user_id)
    run, tags = _read_published(cfg, lambda store: store.read_user(uid))
    as_of = str(run.as_of)[:10]
    if tags.empty:
        raise KeyError(_unknown_user(cfg, uid, as_of))
    values = dict(zip(tags["tag"], tags["value"], strict=True))
    shown, score = None, None
    if band is not None:
        if band.tag not in values:
            raise LookupError(_unscored(uid, spec, band.tag, as_of, values, run.model_versions or {}))
        row = tags[tags["tag"] == band.tag]
        shown, score = str(row["value"].iloc[0]), float(np.asarray(row["score"], dtype=float)[0])
    stored = tuple(values[t] for t in sorted((t for t in values if t.startswith(f"{task}_reason_")),
                                             key=lambda t: int(t.rsplit("_", 1)[1])))
    if stored and lang == cfg.scoring.lang and all(_is_chinese(r) == (lang == "zh") for r in stored):
        return Explanation(uid, task, as_of, shown, score, stored, "tags")
    reasons = _champion_reasons(cfg, task, uid, as_of, lang, dict(run.model_versions or {}))
    return Explanation(uid, task, as_of, shown, score, reasons, "model")


def _is_chinese(text: str) -> bool:
    """Whether a reason sentence is in Chinese: the tags do not record the language they were
    written in, and `scoring.lang` may have changed since (an English sentence naming a Chinese
    channel reads as Chinese here, so it is recomputed rather than shown as English)."""
    return any("\u4e00" <= c <= "\u9fff" for c in str(text))


def _champion_reasons(cfg: SiyuConfig, task: str, user_id: str, as_of: str, lang: Lang,
                      versions: dict) -> tuple[str, ...]:
    from siyu.explain.reasons import top_reasons

    champion = _published_champion(cfg, task, versions)
    specs = champion_specs(cfg, champion)
    row = features_at(cfg, as_of, list(champion.feature_names), specs, user_id=user_id)
    if row.empty:  # tagged, yet not in the features of that day (rebuilt since?)
        raise KeyError(f"user '{user_id}': tagged as of {as_of} but not in the features of that day; "
                       "run `siyu score` again to rebuild them with the tags")
    reasons = top_reasons(champion.estimator, row[list(champion.feature_names)], feature_catalog_of(cfg, champion),
                          lang=lang, k=cfg.scoring.reasons_top_k or 3, currency=cfg.dataset.currency)
    return tuple(r for r in reasons.iloc[0].tolist() if r)


def _unknown_user(cfg: SiyuConfig, user_id: str, as_of: str) -> str:
    from siyu.io.tagstore import open_tag_store

    store = open_tag_store(cfg.scoring.tag_store_url, read_only=True)
    try:
        known = store.read_current_view()["user_id"].astype(str).drop_duplicates()
    finally:
        store.close()
    return (f"user '{user_id}': not among the {len(known):,} users scored as of {as_of} "
            f"(ids look like {sorted(known)[:3]}); check the id")


def _unscored(user_id: str, task: TaskConfig, tag: str, as_of: str, values: dict, versions: dict) -> str:
    from siyu.labels import population_text

    shown = ", ".join(f"{k}={v}" for k, v in sorted(values.items()) if not k.startswith(f"{task.name}_reason_"))
    why = (f"the scoring run of {as_of} had no {task.name} champion" if task.name not in versions
           else f"outside the {task.name} population as of {as_of} ({population_text(task)})")
    return f"user '{user_id}' has no {tag} tag: {why}; their tags: {shown}"
