"""The experiment readout job: a campaign or a contact plan, read from the clean EventLog once its
horizons have passed -> `work/reports/experiments/<id>.json` + `<id>.csv` and a `Readout`.

Campaign: treatment = the event type of a user's first contact in it (`siyu.uplift.campaigns`),
control = the eligible users (joined before the cutoff; optionally active within N days) with no
contact in it. Plan (`work/reports/plans/<run_id>.parquet`, as-of = cutoff): per chosen treatment,
chosen & contacted vs chosen & holdout. The statistics are pure (`siyu.experiments`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from siyu.config import SiyuConfig
from siyu.experiments.outcomes import METRICS, active_users_sql, contacts_sql, outcomes_sql
from siyu.experiments.readout import (
    Comparison,
    Readout,
    calibrations,
    group_readouts,
    methods,
    metric_readouts,
    uplift_calibrations,
)
from siyu.experiments.stats import SrmCheck, srm_check
from siyu.features.compiler import relation_sql
from siyu.features.specs import SpecError
from siyu.io.tables import read_json, write_csv
from siyu.io.workspace import clean_history, clean_inputs, connect_work, feature_set
from siyu.io.writers import write_json
from siyu.labels.tasks import data_bounds
from siyu.operations import stage
from siyu.operations.inputs import USERS
from siyu.operations.lifecycle_flow import lifecycle_rule, stage_sql
from siyu.uplift.campaigns import assignments_sql, campaigns_sql

CONTROL = "control"
LATEST = "latest"  # `--campaign latest`: the newest campaign whose every metric window is inside the data


class HorizonNotPassed(ValueError):
    """No outcome window of the experiment lies inside the data yet."""


class NoEligibleUsers(ValueError):
    """The experiment's cutoff is at or before the first event: no user was known before it."""


class ExperimentNotFound(LookupError):
    """No campaign / plan of that id."""


@dataclass(frozen=True)
class ExperimentResult:
    """What a readout wrote: the readout, its JSON and CSV, and how long it took."""

    readout: Readout
    json_path: Path
    csv_path: Path
    seconds: float


def experiments_dir(cfg: SiyuConfig) -> Path:
    """Where readouts go: `work/reports/experiments/`."""
    return cfg.paths.reports_dir / "experiments"


def plans_dir(cfg: SiyuConfig) -> Path:
    """Where `siyu target` writes its plans: `work/reports/plans/`."""
    return cfg.paths.reports_dir / "plans"


def list_campaigns(cfg: SiyuConfig) -> pd.DataFrame:
    """The campaigns of the clean EventLog (`campaigns_sql` columns) and `readable_from`: the first
    data end at which every configured metric's window fits."""
    events, _ = clean_inputs(cfg)
    con = connect_work(cfg)
    try:
        frame = con.execute(campaigns_sql(relation_sql(events))).df()
    finally:
        con.close()
    longest = max(cfg.experiments.horizons.values())
    return frame.assign(readable_from=pd.to_datetime(frame["cutoff"]) + pd.Timedelta(days=longest))


def _horizons(cfg: SiyuConfig, horizon_days: int | None) -> dict[str, int]:
    configured = cfg.experiments.horizons
    return dict(configured) if horizon_days is None else {m: int(horizon_days) for m in configured}


def _readable(what: str, cutoff: date, horizons: Mapping[str, int], data_end: date) -> tuple[dict, dict]:
    """(metrics whose window [cutoff, cutoff + h) fits in the data, pending metric -> first date
    readable); HorizonNotPassed when none fits."""
    fits = {m: h for m, h in horizons.items() if cutoff + timedelta(days=h) <= data_end}
    pending = {m: (cutoff + timedelta(days=h)).isoformat() for m, h in horizons.items() if m not in fits}
    if not fits:
        first = min(horizons, key=horizons.get)
        h = horizons[first]
        raise HorizonNotPassed(
            f"{what} (cutoff {cutoff}): its outcomes need [{cutoff}, {cutoff + timedelta(days=h)}) inside the "
            f"data ({first}, {h} d, the shortest horizon), but the data ends {data_end - timedelta(days=1)} "
            f"(last event day); read it out on or after {cutoff + timedelta(days=h)}, once the data covers "
            f"{cutoff + timedelta(days=h - 1)} (or pass a shorter --horizon-days)")
    return fits, pending


def _check_start(what: str, cutoff: date, data_start: date) -> None:
    if cutoff <= data_start:
        raise NoEligibleUsers(f"{what} (cutoff {cutoff}): the data starts on {data_start}, so no user was known "
                              "before the cutoff and there is no pre-period; nothing to read out")


def _sanitize(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)


def _lifecycle(cfg: SiyuConfig, con: Any, cutoff: date) -> pd.DataFrame:  # noqa: ANN401 - DuckDB
    try:
        rule = lifecycle_rule(feature_set(cfg).specs)
    except SpecError:
        rule = lifecycle_rule(())
    return con.execute(f"SELECT user_id, stage AS lifecycle_stage FROM ({stage_sql(rule, cutoff)})").df()


def _segments(cfg: SiyuConfig, cutoff: date) -> tuple[pd.DataFrame | None, str | None, str | None]:
    """`user_id, segment` at the cutoff, (frame, None, how) or (None, why, None): the tag of the latest
    published scoring run with as-of <= cutoff, else the champion segmentation applied to the
    features at the cutoff (a segment assigned after the cutoff could be an outcome of the treatment)."""
    from siyu.io.tagstore import open_tag_store

    tag = cfg.segments.tag
    url = cfg.scoring.tag_store_url
    store = open_tag_store(url, read_only=True)  # a store not made yet reads as empty
    try:
        runs = sorted((r for r in store.published_runs() if r.as_of <= cutoff), key=lambda r: r.as_of,
                      reverse=True)
        for run in runs:
            if tag in store.run_tags(run.run_id):
                frame = store.read_wide(run.run_id, [tag]).rename(columns={tag: "segment"})
                return frame[["user_id", "segment"]], None, f"the `{tag}` tag of scoring run {run.run_id} " \
                                                             f"(as of {run.as_of})"
    finally:
        store.close()
    if not cfg.segments.enabled:
        return None, (f"no published scoring run on or before {cutoff} carries the `{tag}` tag, and segments are "
                      "not enabled (segments.enabled) to assign them at the cutoff"), None
    return _segments_at(cfg, cutoff)


def _segments_at(cfg: SiyuConfig, cutoff: date) -> tuple[pd.DataFrame | None, str | None, str | None]:
    """The champion segmentation's segment of every user, from the features at the cutoff."""
    from siyu.features.build import build_features
    from siyu.tracking import NoModelError, load_champion

    try:
        champion = load_champion(cfg.segments.registry_name, cfg.tracking)
    except NoModelError as exc:
        return None, f"no segment tag on or before {cutoff} and no champion segmentation ({exc}); run `siyu segment`", None
    specs = champion.feature_specs if champion.feature_specs is not None else feature_set(cfg).specs
    events, users = clean_inputs(cfg)
    con = connect_work(cfg)
    try:
        features = build_features(con, specs, events, users, [cutoff], history=clean_history(cfg))
    finally:
        con.close()
    keys = champion.estimator.predict(features)
    frame = pd.DataFrame({"user_id": features["user_id"].astype(str).to_numpy(), "segment": np.asarray(keys, str)})
    return frame, None, (f"segments assigned at the cutoff by {champion.model_name} version {champion.model_version} "
                         "from the features at the cutoff")


def _truth_shares(cfg: SiyuConfig, campaign: str) -> dict[str, float] | None:
    path = cfg.paths.truth_dir / "campaigns.parquet"
    if not path.exists():
        return None
    frame = pd.read_parquet(path)
    rows = frame[frame["campaign_id"].astype(str) == campaign]
    if rows.empty:
        return None
    row = rows.iloc[0]
    return {c.removeprefix("propensity__"): float(row[c]) for c in frame.columns
            if c.startswith("propensity__") and pd.notna(row[c])}


def _srm(counts: dict[str, int], shares: Mapping[str, float] | None, alpha: float,
         why_none: str) -> tuple[SrmCheck | None, str | None]:
    """SRM of the arms against the designed shares (treatments given; control gets the rest)."""
    if shares is None:
        return None, why_none
    shares = {t: s for t, s in shares.items() if s > 0 or counts.get(t, 0) > 0}
    zero = sorted(t for t, s in shares.items() if s <= 0)
    if zero:
        return None, f"users got {', '.join(zero)} although its designed share is 0: the design is not what ran"
    rest = 1.0 - sum(shares.values())
    if rest <= 0:
        return None, f"designed shares {dict(shares)} leave nothing for the control"
    expected = {**shares, CONTROL: rest}
    observed = {arm: counts.get(arm, 0) for arm in expected}
    extra = sorted(set(counts) - set(expected))
    if extra:
        return None, f"arms {extra} have no designed share (given: {sorted(shares)})"
    return srm_check(observed, expected, alpha=alpha), None


def read_campaign(cfg: SiyuConfig, campaign: str, *, active_within_days: int | None = None,
                  expected_shares: Mapping[str, float] | None = None,
                  horizon_days: int | None = None) -> ExperimentResult:
    """Read out a campaign: treatment arms vs the eligible users it did not contact."""
    clock = time.perf_counter()
    events, users = clean_inputs(cfg)
    ev = relation_sql(events)
    exp = cfg.experiments
    con = connect_work(cfg)
    try:
        if campaign == LATEST:
            campaign = _latest_readable(con, ev, events, _horizons(cfg, horizon_days))
        found = con.execute(f"SELECT campaign_id, cutoff FROM ({campaigns_sql(ev)}) WHERE campaign_id = ?",
                            [campaign]).fetchone()
        if found is None:
            known = [r[0] for r in con.execute(f"SELECT campaign_id FROM ({campaigns_sql(ev)})").fetchall()]
            raise ExperimentNotFound(
                f"campaign {campaign!r}: not in the clean events ({len(known)} campaigns, e.g. "
                f"{', '.join(known[:5]) or 'none'}); `siyu experiment --list` shows them")
        cutoff = found[1].date()
        data_start, data_end = data_bounds(con, events)
        _check_start(f"campaign {campaign}", cutoff, data_start)
        horizons, pending = _readable(f"campaign {campaign}", cutoff, _horizons(cfg, horizon_days), data_end)
        stage(con, events, users, cutoff)
        population = USERS
        label = "users joined before the cutoff"
        if active_within_days is not None:
            population = (f"(SELECT u.user_id FROM {USERS} u JOIN ({active_users_sql('ops_events', cutoff, active_within_days)}) "
                          "a USING (user_id))")
            label = f"users joined before the cutoff with activity in the {active_within_days} days before it"
        frame = con.execute(outcomes_sql(ev, population, cutoff, horizons)).df()
        arms = con.execute(assignments_sql(ev, [campaign])).df()
        lifecycle = _lifecycle(cfg, con, cutoff)
    finally:
        con.close()
    frame = frame.assign(user_id=frame["user_id"].astype(str))
    arms = arms.assign(user_id=arms["user_id"].astype(str))
    notes = []
    outside = int((~arms["user_id"].isin(frame["user_id"])).sum())
    if outside:
        notes.append(f"{outside} contacted users are outside the population ({label}) and are left out")
    frame = frame.merge(arms[["user_id", "treatment"]], on="user_id", how="left")
    frame = frame.assign(arm=frame["treatment"].fillna(CONTROL).astype(str)).drop(columns="treatment")
    frame = frame.merge(lifecycle.assign(user_id=lifecycle["user_id"].astype(str)), on="user_id", how="left")
    treatments = sorted(a for a in frame["arm"].unique() if a != CONTROL)
    arm = frame["arm"].to_numpy()
    comparisons = [Comparison(t, arm == t, arm == CONTROL) for t in treatments]
    counts = {CONTROL: int((arm == CONTROL).sum()), **{t: int((arm == t).sum()) for t in treatments}}
    shares, why = expected_shares, ("no designed shares: pass --expected-share TREATMENT=SHARE (a generated "
                                    "world's truth/campaigns.parquet gives them)")
    if shares is None:
        shares = _truth_shares(cfg, campaign)
        if shares is not None:
            notes.append("designed shares from the generated world's truth/campaigns.parquet")
    srm, srm_skipped = _srm(counts, shares, exp.srm_alpha, why)
    readout = _assemble(cfg, frame, comparisons, kind="campaign", source=campaign, cutoff=cutoff, data_end=data_end,
                        horizons=horizons, pending=pending, population=label, arms=counts, srm=srm,
                        srm_skipped=srm_skipped, notes=notes, srm_invalid=srm_skipped is not None and shares is not None,
                        active_within_days=active_within_days)
    return _write(cfg, readout, clock)


def _latest_readable(con: Any, ev: str, events: Path, horizons: Mapping[str, int]) -> str:  # noqa: ANN401
    """The newest campaign with every horizon inside the data (else the newest with the shortest one;
    the first day of the data has nobody before it); HorizonNotPassed when none."""
    data_start, data_end = data_bounds(con, events)
    rows = [(r[0], r[1].date()) for r in con.execute(f"SELECT campaign_id, cutoff FROM ({campaigns_sql(ev)})").fetchall()]
    rows = [(c, cut) for c, cut in rows if cut > data_start]
    for need in (max(horizons.values()), min(horizons.values())):
        fits = [c for c, cut in rows if cut + timedelta(days=need) <= data_end]
        if fits:
            return fits[-1]
    raise HorizonNotPassed(f"no campaign has a {min(horizons.values())}-day outcome window inside the data "
                           f"(ending {data_end - timedelta(days=1)}; {len(rows)} campaigns)")


def _latest_plan(cfg: SiyuConfig, horizons: Mapping[str, int]) -> str:
    """The plan with the newest as-of whose shortest window is inside the data (`--plan latest`)."""
    folder = plans_dir(cfg)
    plans, withdrawn = [], _rolled_back_runs(cfg)
    for path in sorted(folder.glob("*.parquet")) if folder.exists() else []:
        if path.stem in withdrawn:  # rolled back: its contacts were withdrawn, its holdout means nothing
            continue
        meta = read_json(path.with_suffix(".json")) if path.with_suffix(".json").exists() else {}
        as_of = meta.get("as_of") or str(pd.read_parquet(path, columns=["as_of"])["as_of"].iloc[0])
        plans.append((date.fromisoformat(str(as_of)[:10]), path.stat().st_mtime, path.stem))
    if not plans:
        skipped = f" ({len(withdrawn)} rolled back)" if withdrawn else ""
        raise ExperimentNotFound(f"no plan in {folder}{skipped}; `siyu target` writes them")
    events, _ = clean_inputs(cfg)
    con = connect_work(cfg)
    try:
        _, data_end = data_bounds(con, events)
    finally:
        con.close()
    shortest = min(horizons.values())
    ready = [p for p in plans if p[0] + timedelta(days=shortest) <= data_end]
    if not ready:
        newest = max(plans)
        raise HorizonNotPassed(f"no plan has a {shortest}-day outcome window inside the data yet (newest: "
                               f"{newest[2]}, as of {newest[0]}; readable on or after "
                               f"{newest[0] + timedelta(days=shortest)})")
    return max(ready)[2]


def _rolled_back_runs(cfg: SiyuConfig) -> set[str]:
    """Run ids the tag store marks rolled back ({} without a store yet)."""
    from siyu.io.tagstore import open_tag_store

    store = open_tag_store(cfg.scoring.tag_store_url, read_only=True)  # a store not made yet reads as empty
    try:
        return {r.run_id for r in store.runs() if r.status == "rolled_back"}
    finally:
        store.close()


def _holdout_share(meta: Any) -> float | None:  # noqa: ANN401 - JSON
    """The `holdout_share` anywhere in the plan's JSON (top level first)."""
    if isinstance(meta, dict):
        if isinstance(meta.get("holdout_share"), int | float):
            return float(meta["holdout_share"])
        for value in meta.values():
            found = _holdout_share(value)
            if found is not None:
                return found
    return None


def read_plan(cfg: SiyuConfig, run_id: str, *, expected_holdout: float | None = None,
              horizon_days: int | None = None) -> ExperimentResult:
    """Read out a contact plan: per chosen treatment, the contacted users vs the randomized holdout."""
    clock = time.perf_counter()
    if run_id == LATEST:
        run_id = _latest_plan(cfg, _horizons(cfg, horizon_days))
    path = plans_dir(cfg) / f"{run_id}.parquet"
    if not path.exists():
        known = sorted(p.stem for p in plans_dir(cfg).glob("*.parquet")) if plans_dir(cfg).exists() else []
        raise ExperimentNotFound(f"plan {run_id!r}: {path} not found (plans: {', '.join(known[-5:]) or 'none'}; "
                                 "`siyu target` writes them)")
    plan = pd.read_parquet(path)
    meta_path = path.with_suffix(".json")
    meta = read_json(meta_path) if meta_path.exists() else {}
    chosen = plan[plan["treatment"].astype(str) != "none"].copy()
    if chosen.empty:
        raise ValueError(f"plan {run_id}: no user was chosen for a contact; nothing to read out")
    if "as_of" in chosen:
        as_of = pd.Timestamp(chosen["as_of"].iloc[0]).date()
    elif "as_of" in meta:
        as_of = date.fromisoformat(str(meta["as_of"])[:10])
    else:
        raise ValueError(f"plan {run_id}: no as_of column in {path.name} nor in its JSON; cannot place the cutoff")
    chosen = chosen.assign(user_id=chosen["user_id"].astype(str), holdout=chosen["holdout"].astype(bool))
    events, users = clean_inputs(cfg)
    ev = relation_sql(events)
    exp = cfg.experiments
    con = connect_work(cfg)
    try:
        data_start, data_end = data_bounds(con, events)
        _check_start(f"plan {run_id}", as_of, data_start)
        horizons, pending = _readable(f"plan {run_id}", as_of, _horizons(cfg, horizon_days), data_end)
        stage(con, events, users, as_of)
        con.register("plan_users", chosen[["user_id"]])
        frame = con.execute(outcomes_sql(ev, "plan_users", as_of, horizons)).df()
        lifecycle = _lifecycle(cfg, con, as_of)
        window_end = min(as_of + timedelta(days=exp.compliance_days), data_end)
        contacts = con.execute(contacts_sql(ev, as_of, window_end)).df()
        con.unregister("plan_users")
    finally:
        con.close()
    frame = frame.assign(user_id=frame["user_id"].astype(str)).merge(
        chosen[["user_id", "treatment", "holdout", "expected_gain", *(["cost"] if "cost" in chosen else []),
                *(c for c in chosen.columns if c.startswith("uplift__"))]],
        on="user_id", how="left")
    frame = frame.merge(lifecycle.assign(user_id=lifecycle["user_id"].astype(str)), on="user_id", how="left")
    treat, hold = frame["treatment"].astype(str).to_numpy(), frame["holdout"].to_numpy(bool)
    treatments = sorted(set(treat))
    comparisons = [Comparison(t, (treat == t) & ~hold, (treat == t) & hold) for t in treatments]
    counts = {"contacted": int((~hold).sum()), "holdout": int(hold.sum())}
    share = expected_holdout if expected_holdout is not None else _holdout_share(meta)
    notes = []
    if share is None:
        srm, srm_skipped = None, f"no holdout_share in {meta_path.name}: pass --expected-share HOLDOUT_SHARE"
    elif not 0 < share < 1:
        srm, srm_skipped = None, f"holdout share {share} leaves no randomized comparison"
    else:
        srm, srm_skipped = srm_check(counts, {"contacted": 1 - share, "holdout": share}, alpha=exp.srm_alpha), None
    cost = frame["cost"] if "cost" in frame else pd.Series(0.0, index=frame.index)
    predicted = {t: (float(frame.loc[c.treated, "expected_gain"].sum()), float(cost[c.treated].sum()))
                 for t, c in zip(treatments, comparisons, strict=True)}
    by_label = {m.label: m.name for m in METRICS}
    uplift_metric = by_label.get(str(meta.get("label")))
    predicted_uplift = {c.treatment: float(frame.loc[c.treated, f"uplift__{c.treatment}"].mean()) for c in comparisons
                        if f"uplift__{c.treatment}" in frame and c.treated.any()}
    compliance = _compliance(frame, contacts, comparisons, as_of, window_end)
    if compliance["treated_contacted_share"] is not None and compliance["treated_contacted_share"] < 0.9:
        notes.append(f"only {compliance['treated_contacted_share']:.0%} of the users to contact got their contact "
                     f"by {window_end}: the lift is of the plan as carried out (intention to treat)")
    readout = _assemble(cfg, frame, comparisons, kind="plan", source=run_id, cutoff=as_of, data_end=data_end,
                        horizons=horizons, pending=pending, population="users the plan chose (contacted or held out)",
                        arms=counts, srm=srm, srm_skipped=srm_skipped, notes=notes, predicted=predicted,
                        compliance=compliance, predicted_uplift=(uplift_metric, meta.get("horizon_days"),
                                                                 predicted_uplift))
    return _write(cfg, readout, clock)


def _compliance(frame: pd.DataFrame, contacts: pd.DataFrame, comparisons: list[Comparison], start: date,
                end: date) -> dict[str, Any]:
    """Who actually got a contact in [start, end): the treated with their chosen treatment, and the
    holdout with any (which should be nobody)."""
    got = set(zip(contacts["user_id"].astype(str), contacts["event_type"].astype(str), strict=True))
    anyone = set(contacts["user_id"].astype(str))
    users, treat = frame["user_id"].to_numpy(), frame["treatment"].astype(str).to_numpy()
    per, n_t, n_ok, n_h, n_bad = {}, 0, 0, 0, 0
    for c in comparisons:
        ok = sum((u, t) in got for u, t in zip(users[c.treated], treat[c.treated], strict=True))
        bad = sum(u in anyone for u in users[c.control])
        per[c.treatment] = {"treated": int(c.treated.sum()), "treated_contacted": int(ok),
                            "holdout": int(c.control.sum()), "holdout_contacted": int(bad)}
        n_t, n_ok, n_h, n_bad = n_t + int(c.treated.sum()), n_ok + ok, n_h + int(c.control.sum()), n_bad + bad
    return {"window": [start.isoformat(), end.isoformat()],
            "treated_contacted_share": n_ok / n_t if n_t else None,
            "holdout_contacted_share": n_bad / n_h if n_h else None, "by_treatment": per}


def _assemble(cfg: SiyuConfig, frame: pd.DataFrame, comparisons: list[Comparison], *, kind: str, source: str,
              cutoff: date, data_end: date, horizons: dict[str, int], pending: dict[str, str], population: str,
              arms: dict[str, int], srm: SrmCheck | None, srm_skipped: str | None, notes: list[str],
              predicted: Mapping[str, tuple[float, float]] | None = None, compliance: dict | None = None,
              srm_invalid: bool = False, active_within_days: int | None = None,
              predicted_uplift: tuple[str | None, int | None, dict[str, float]] | None = None) -> Readout:
    exp = cfg.experiments
    segments, segments_why, segments_how = _segments(cfg, cutoff)
    skipped = {}
    if segments is not None:
        frame = frame.merge(segments.assign(user_id=segments["user_id"].astype(str)), on="user_id", how="left")
        notes.append(f"segment: {segments_how}")
    else:
        skipped["segment"] = segments_why
    metrics = metric_readouts(frame, comparisons, horizons, level=exp.level)
    groups = group_readouts(frame, comparisons, horizons, "lifecycle_stage", min_cell=exp.min_cell_users,
                            level=exp.level)
    if segments is not None:
        groups += group_readouts(frame, comparisons, horizons, "segment", min_cell=exp.min_cell_users, level=exp.level)
    calibration, uplift_calibration = (), ()
    if predicted_uplift is not None and predicted_uplift[0] is not None:
        metric, task_h, by_treatment = predicted_uplift
        uplift_calibration = uplift_calibrations(metrics, by_treatment, metric, task_h)
        if metric in pending:
            notes.append(f"uplift calibration waits for {metric}, readable from {pending[metric]}")
        elif task_h is not None and horizons.get(metric) != task_h:
            notes.append(f"the plan's uplift is over {task_h} d, the measured {metric} over {horizons.get(metric)} d")
    if predicted is not None:
        calibration = calibrations(metrics, predicted)
        if "spend_per_user" in pending:
            notes.append(f"calibration (measured vs predicted gain) waits for spend_per_user, readable from "
                         f"{pending['spend_per_user']}")
    for c in comparisons:
        if c.treated.sum() < 2 or c.control.sum() < 2:
            notes.append(f"{c.treatment}: {int(c.treated.sum())} treated vs {int(c.control.sum())} control users; "
                         "no lift without at least 2 in each arm")
    if pending:
        notes.append("not yet readable: " + ", ".join(f"{m} (from {d})" for m, d in pending.items()))
    trustworthy = (srm is None or srm.passed) and not srm_invalid
    return Readout(
        id=_sanitize(f"{kind}_{source}"), kind=kind, source=source, cutoff=cutoff, data_end=data_end,
        level=exp.level, horizons=horizons, pending=pending, population=population,
        active_within_days=active_within_days, arms=arms, srm=srm,
        srm_skipped=srm_skipped, trustworthy=bool(trustworthy), metrics=metrics, groups=groups,
        groups_skipped=skipped, calibration=calibration, uplift_calibration=uplift_calibration,
        compliance=compliance, notes=tuple(notes),
        methods=methods(exp.level))


def _write(cfg: SiyuConfig, readout: Readout, clock: float) -> ExperimentResult:
    folder = experiments_dir(cfg)
    doc = {**readout.to_dict(), "seconds": round(time.perf_counter() - clock, 2)}
    json_path = write_json(doc, folder / f"{readout.id}.json")
    csv_path = write_csv(readout.rows(), folder / f"{readout.id}.csv", bom=cfg.scoring.csv_bom)
    return ExperimentResult(readout, json_path, csv_path, time.perf_counter() - clock)


def parse_shares(items: list[str] | tuple[str, ...]) -> dict[str, float] | float | None:
    """`--expected-share` values: `TREATMENT=SHARE` pairs (a campaign), or one bare SHARE (a
    plan's holdout share); ValueError naming the bad item."""
    if not items:
        return None
    if len(items) == 1 and "=" not in items[0]:
        return _share(items[0], items[0])
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"--expected-share {item!r}: expected TREATMENT=SHARE (e.g. campaign_contact=0.3)")
        out[name.strip()] = _share(value, item)
    return out


def _share(text: str, item: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise ValueError(f"--expected-share {item!r}: {text!r} is not a number") from exc
    if not np.isfinite(value) or not 0 <= value < 1:
        raise ValueError(f"--expected-share {item!r}: a share is in [0, 1), got {value}")
    return value
