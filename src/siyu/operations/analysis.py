"""Every operations table as of one date, and a summary of the headline numbers."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd

from siyu.config import OperationsConfig
from siyu.features import Lifecycle
from siyu.operations import activity, cohorts, commerce, funnels, lifecycle_flow, ltv
from siyu.operations.inputs import ALL, OpsData


@dataclass(frozen=True)
class OperationsResult:
    """The tables (name -> frame) and a JSON-ready summary; `notes` say what was skipped and why."""

    tables: dict[str, pd.DataFrame]
    summary: dict[str, Any]
    notes: tuple[str, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)


def analyze(data: OpsData, cfg: OperationsConfig, lifecycle: Lifecycle,
            costs: pd.DataFrame | None = None, *, currency: str = "¥") -> OperationsResult:
    """Acquisition, activity, retention, lifecycle flow, funnels, commerce and channel economics
    as of `data.as_of` (see each module); money tables only when the data records amounts, which
    the summary names in `currency` (the dataset's)."""
    tables: dict[str, pd.DataFrame] = {}
    notes: list[str] = []
    codes: list[dict[str, Any]] = []  # the same notes as data, for reports in other languages
    timings: dict[str, float] = {}

    def run(name: str, fn, *args):  # noqa: ANN001, ANN202 - a table builder and its arguments
        clock = time.perf_counter()
        tables[name] = fn(*args)
        timings[name] = round(time.perf_counter() - clock, 3)
        return tables[name]

    run("acquisition", activity.acquisition, data)
    run("activity", activity.active_users, data, cfg.activity_days)
    run("retention", cohorts.retention, data, cfg.retention_days, cfg.retention_mode)
    flow_start = max(data.as_of - timedelta(days=cfg.flow_days), data.first_day)
    if flow_start < data.as_of:
        run("lifecycle_flow", lifecycle_flow.transitions, data, lifecycle, flow_start, data.as_of)
        notes_flow = {"from": flow_start.isoformat(), "to": data.as_of.isoformat()}
    else:
        notes_flow = None
    for funnel in cfg.funnels:
        absent = [s for s in funnel.steps if s not in data.event_types]
        if absent:
            codes.append({"code": "funnel_missing", "funnel": funnel.name, "steps": absent})
            notes.append(f"funnel {funnel.name}: event type(s) {absent} not in the data (known: "
                         f"{list(data.event_types)[:12]}); those steps count 0")
    if cfg.funnels:
        clock = time.perf_counter()
        tables["funnels"] = pd.concat([funnels.funnel_steps(data, f) for f in cfg.funnels], ignore_index=True)
        timings["funnels"] = round(time.perf_counter() - clock, 3)
    run("commerce_monthly", commerce.monthly, data)
    run("repurchase", commerce.repurchase, data, cfg.repurchase_days)
    if data.has_amount:
        value = run("ltv", ltv.realized_ltv, data, cfg.ltv_days, cfg.cohort_grain)
        if costs is not None:
            run("ltv_cac", ltv.ltv_cac, value, costs, cfg.ltv_days, cfg.cohort_grain)
    else:
        codes.append({"code": "no_amounts"})
        notes.append("no amounts in the data (every amount is null): GMV, AOV, LTV and LTV/CAC skipped")
    if costs is None:
        codes.append({"code": "no_cost_table"})
        notes.append("no cost table configured (operations.cost_table): LTV/CAC not computed")
    summary = {**_summary(data, cfg, tables, lifecycle), "currency": currency, "lifecycle_flow": notes_flow}
    summary = {**summary, "notes": notes, "note_codes": codes, "timings": timings}
    return OperationsResult(tables, summary, tuple(notes), timings)


def _summary(data: OpsData, cfg: OperationsConfig, tables: dict[str, pd.DataFrame],
             lifecycle: Lifecycle) -> dict[str, Any]:
    out: dict[str, Any] = {
        "as_of": data.as_of.isoformat(), "first_day": data.first_day.isoformat(), "users": data.n_users,
        "events": data.n_events, "has_amount": data.has_amount,
        "channels": list(data.channels), "source_channels": list(data.source_channels),
        "retention_mode": cfg.retention_mode,
    }
    acq = tables["acquisition"]
    days = acq[acq["grain"] == "day"]
    recent = days[pd.to_datetime(days["period_start"]) >= pd.Timestamp(data.as_of - timedelta(days=30))]
    out["new_users_30d"] = int(recent["new_users"].sum())
    out["new_users_30d_by_source_channel"] = {k: int(v) for k, v in recent.groupby("source_channel")["new_users"].sum().items()}
    act = tables["activity"]
    overall = act[act["channel"] == ALL]
    if len(overall):
        last = overall.iloc[-1]
        out["activity"] = {"day": str(last["day"].date()), "dau": int(last["dau"]), "wau": int(last["wau"]),
                           "mau": int(last["mau"]), "stickiness_30d_mean": _num(overall["stickiness"].tail(30).mean())}
    ret = tables["retention"]
    out["retention"] = {
        basis: {f"d{n}": _num(row[f"d{n}_rate"]) for n in cfg.retention_days}
        for basis, row in ret[ret["dimension"] == ALL].set_index("basis").iterrows()}
    stages = lifecycle_flow.stages_at(data, lifecycle, data.as_of)["stage"].value_counts()
    out["lifecycle_stages"] = {s: int(stages.get(s, 0)) for s in lifecycle_flow.STAGES if s != "not_joined"}
    if "funnels" in tables:
        f = tables["funnels"]
        f = f[f["channel"] == ALL]
        windows = {fc.name: funnels.entry_period(data, fc) + (fc.window_days,) for fc in cfg.funnels}
        out["funnels"] = {name: {"entered": int(g["users"].iloc[0]), "completed": int(g["users"].iloc[-1]),
                                 "conversion": _num(g["conversion_from_first"].iloc[-1]),
                                 "entry_start": str(windows[name][0].date()), "entry_end": str(windows[name][1].date()),
                                 "window_days": windows[name][2]}
                          for name, g in f.groupby("funnel", sort=False)}
    out["commerce_30d"] = commerce.totals(data, 30)
    rep = tables["repurchase"]
    everyone = rep[rep["dimension"] == ALL]
    out["repurchase"] = {"days": cfg.repurchase_days, "buyers": int(everyone["buyers"].sum()),
                         "rate": _num(everyone["repurchase_rate"].iloc[0]) if len(everyone) else None}
    if "ltv" in tables:
        total = tables["ltv"].query(f"source_channel == '{ALL}' and cohort == '{ALL}'").iloc[0]
        out["ltv"] = {f"ltv{n}": _num(total[f"ltv{n}"]) for n in cfg.ltv_days}
    if "ltv_cac" in tables:
        per_channel = tables["ltv_cac"][tables["ltv_cac"]["cohort"] == ALL].set_index("source_channel")
        out["ltv_cac"] = {ch: {"cac": _num(r["cac"]), **{f"ltv_cac_{n}": _num(r[f"ltv_cac_{n}"]) for n in cfg.ltv_days}}
                          for ch, r in per_channel.iterrows()}
    return out


def _num(value: Any) -> float | None:
    """A JSON-safe float (None for NaN)."""
    value = float(value)
    return None if np.isnan(value) else round(value, 6)
