"""The operations report: one self-contained HTML page per language (charts inlined as SVG),
built from the tables `siyu analyze` wrote and the segment profile `siyu segment` wrote.

No user ids and no PII: every number is an aggregate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from siyu.config import Play
from siyu.explain.vocab import CHANNELS, LIFECYCLE_STAGES, Lang, check_lang, word
from siyu.operations import plots
from siyu.operations.lifecycle_flow import STAGES
from siyu.scoring.playbook import play_for

TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "lang_attr": "zh-CN", "title": "私域运营报告", "as_of": "数据截止", "since": "数据起始", "users": "用户数",
        "kpis": "核心指标", "new_30d": "近 30 天新增用户", "dau": "日活 (DAU)", "mau": "月活 (MAU)",
        "stickiness": "黏性 (DAU/MAU, 30 天均值)", "retention": "留存", "d": "第 {n} 日留存",
        "gmv_30d": "近 30 天 GMV", "aov": "客单价", "orders_30d": "近 30 天订单", "repurchase": "{n} 天复购率",
        "ltv": "{n} 天实际 LTV", "acquisition": "拉新: 各来源渠道每周新增", "new_users": "新增用户",
        "activity": "活跃: 日活 / 周活 / 月活", "active_users": "活跃用户数",
        "cohorts": "留存: 按加入周的同期群 (互动)", "join_week": "加入周", "day_n": "第 N 日",
        "curves": "留存曲线: 按来源渠道 (互动)", "rate": "留存率",
        "flow": "生命周期流转: {a} → {b}", "from": "起始阶段", "to": "结束阶段", "not_joined": "尚未加入",
        "funnels": "转化漏斗", "funnel_note": "{users:,} 人 · {conv:.1%}", "funnel_rule":
        "入口: {start} 至 {end} 期间首次 {first}; 每一步需在入口后 {days} 天内、按顺序完成。",
        "channels": "渠道经济: 按来源渠道", "channel": "来源渠道", "purchase_d30": "30 日购买留存",
        "ltv_cac": "LTV/CAC ({n} 天)", "segments": "行为分群 (K-Means)", "segment": "分群", "share": "占比",
        "segment_note": "K = {k}; 按质心用规则命名, 重新训练时沿用原名称。", "notes": "说明",
        "retention_rule":
        "第 N 日留存 = 加入后第 N 天有{basis}的用户占比; 只计入已满 N 天的用户。",
        "basis_activity": "互动", "basis_purchase": "购买", "segment_sizes": "各分群人数", "play": "建议动作",
        "note_no_amounts": "数据不含金额: 未计算 GMV、客单价与 LTV。",
        "note_no_cost_table": "未配置获客成本表 (operations.cost_table): 未计算 LTV/CAC。",
        "note_funnel_missing": "漏斗 {funnel}: 数据中没有事件类型 {steps}, 这些步骤计为 0。",
    },
    "en": {
        "lang_attr": "en", "title": "Owned-audience operations report", "as_of": "as of", "since": "data since",
        "users": "users", "kpis": "Headline numbers", "new_30d": "new users, last 30 days", "dau": "DAU",
        "mau": "MAU", "stickiness": "stickiness (DAU/MAU, 30-day mean)", "retention": "Retention",
        "d": "day-{n} retention", "gmv_30d": "GMV, last 30 days", "aov": "average order value",
        "orders_30d": "orders, last 30 days", "repurchase": "{n}-day repurchase rate", "ltv": "realized {n}-day LTV",
        "acquisition": "Acquisition: new users per week by source channel", "new_users": "new users",
        "activity": "Activity: daily / weekly / monthly active users", "active_users": "active users",
        "cohorts": "Retention: cohorts by join week (activity)", "join_week": "join week", "day_n": "day N",
        "curves": "Retention curves by source channel (activity)", "rate": "retention",
        "flow": "Lifecycle flow: {a} → {b}", "from": "stage before", "to": "stage after",
        "not_joined": "not yet joined", "funnels": "Funnels", "funnel_note": "{users:,} users · {conv:.1%}",
        "funnel_rule": "Entry: the first {first} between {start} and {end}; each step in order, within {days} "
                       "days of entry.",
        "channels": "Channel economics by source channel", "channel": "source channel",
        "purchase_d30": "day-30 purchase retention", "ltv_cac": "LTV/CAC ({n} d)",
        "segments": "Behavioural segments (K-Means)", "segment": "segment", "share": "share",
        "segment_note": "K = {k}; named from centroids by rules; names are kept when the model is refitted.",
        "notes": "Notes",
        "retention_rule": "Day-N retention = share of users with {basis} on day N after joining; only users "
                          "whose day N has passed count.",
        "basis_activity": "activity", "basis_purchase": "a purchase", "segment_sizes": "users per segment",
        "play": "what to do",
        "note_no_amounts": "The data has no amounts: GMV, AOV and LTV are not computed.",
        "note_no_cost_table": "No acquisition cost table (operations.cost_table): LTV/CAC is not computed.",
        "note_funnel_missing": "Funnel {funnel}: event type(s) {steps} are not in the data; those steps count 0.",
    },
}


@dataclass(frozen=True)
class OperationsReport:
    """Everything the template shows, in one language."""

    lang: Lang
    text: dict[str, str]
    title: str
    meta: str
    kpis: list[dict[str, str]]
    images: dict[str, str]  # name -> an SVG document, inlined in the page
    sections: dict[str, str]  # name -> heading
    channel_columns: list[str]
    channel_rows: list[list[str]]
    segment_columns: list[str] = field(default_factory=list)
    segment_rows: list[list[str]] = field(default_factory=list)
    funnels: list[dict[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _pct(value: Any) -> str:
    return "–" if value is None or pd.isna(value) else f"{float(value):.1%}"


def _money(value: Any, currency: str, lang: Lang) -> str:
    """An amount in the dataset's currency, as the reasons show it: '¥1,250' (cents below 100)."""
    if value is None or pd.isna(value):
        return "–"
    return f"{currency}{float(value):,.0f}" if abs(float(value)) >= 100 else f"{currency}{float(value):,.1f}"


def build_operations_report(tables: Mapping[str, pd.DataFrame], summary: Mapping[str, Any], *, lang: str = "zh",
                            segments: pd.DataFrame | None = None, feature_labels: Mapping[str, str] | None = None,
                            plays: Sequence[Play] = (), cohort_weeks: int = 16) -> OperationsReport:
    """The report in `lang` from the analyze tables and summary (and the segment profile, if any)."""
    lang = check_lang(lang)
    t = TEXT[lang]
    cur = str(summary.get("currency", "¥"))
    ch = lambda key: word(CHANNELS, key, lang)  # noqa: E731
    images: dict[str, str] = {}
    sections: dict[str, str] = {}
    notes = [_note(code, t) for code in summary.get("note_codes", [])]

    acq = tables["acquisition"]
    weekly = acq[acq["grain"] == "week"].pivot_table(index="period_start", columns="source_channel",
                                                     values="new_users", aggfunc="sum", fill_value=0).tail(26)
    weekly.index = [pd.Timestamp(i).strftime("%m-%d") for i in weekly.index]
    images["acquisition"] = plots.stacked_bars(weekly, title=t["acquisition"], ylabel=t["new_users"],
                                               labels={c: ch(c) for c in weekly.columns})
    act = tables["activity"]
    overall = act[act["channel"] == "all"].set_index("day")[["dau", "wau", "mau"]]
    if len(overall):
        images["activity"] = plots.lines(overall, title=t["activity"], ylabel=t["active_users"],
                                         labels={"dau": "DAU", "wau": "WAU", "mau": "MAU"})
    ret = tables["retention"]
    days = sorted(int(c[1:].split("_")[0]) for c in ret.columns if c.endswith("_rate"))
    act_ret = ret[ret["basis"] == "activity"]
    weeks = act_ret[act_ret["dimension"] == "join_week"].sort_values("cohort").tail(cohort_weeks).set_index("cohort")
    matrix = weeks[[f"d{n}_rate" for n in days]].set_axis([f"D{n}" for n in days], axis=1)
    images["cohorts"] = plots.heatmap(matrix, title=t["cohorts"], xlabel=t["day_n"], ylabel=t["join_week"])
    by_channel = act_ret[act_ret["dimension"] == "source_channel"].set_index("cohort")
    curves = by_channel[[f"d{n}_rate" for n in days]].T.set_axis([f"D{n}" for n in days])
    images["curves"] = plots.lines(curves, title=t["curves"], ylabel=t["rate"],
                                   labels={c: ch(c) for c in curves.columns}, percent=True, markers=True)
    notes.insert(0, t["retention_rule"].format(basis=t["basis_activity"]))
    if "lifecycle_flow" in tables and len(tables["lifecycle_flow"]):
        images["flow"], sections["flow"] = _flow(tables["lifecycle_flow"], summary, t, lang)
    funnels = _funnels(tables.get("funnels"), summary, t)
    for f in funnels:
        images[f"funnel_{f['name']}"] = f.pop("chart")
    kpis = _kpis(summary, days, t, cur, lang)
    columns, rows = _channel_table(tables, summary, days, t, cur, lang)
    seg_cols, seg_rows = [], []
    if segments is not None and len(segments):
        seg_cols, seg_rows, images["segments"] = _segments(segments, t, lang, feature_labels or {}, plays)
        sections["segments"] = t["segments"] + " · " + t["segment_note"].format(k=len(segments))
    meta = (f"{t['as_of']} {summary['as_of']} · {t['since']} {summary['first_day']} · "
            f"{t['users']} {summary['users']:,}")
    return OperationsReport(lang, t, t["title"], meta, kpis, images, sections, columns, rows, seg_cols, seg_rows,
                            funnels, notes)


def _note(code: Mapping[str, Any], t: dict[str, str]) -> str:
    template = t.get(f"note_{code.get('code')}")
    if template is None:
        return str(code)
    return template.format(**{k: (", ".join(v) if isinstance(v, list) else v) for k, v in code.items() if k != "code"})


def _kpis(s: Mapping[str, Any], days: list[int], t: dict[str, str], cur: str, lang: Lang) -> list[dict[str, str]]:
    out = [{"label": t["new_30d"], "value": f"{s['new_users_30d']:,}"}]
    if "activity" in s:
        a = s["activity"]
        out += [{"label": t["dau"], "value": f"{a['dau']:,}"}, {"label": t["mau"], "value": f"{a['mau']:,}"},
                {"label": t["stickiness"], "value": _pct(a["stickiness_30d_mean"])}]
    rates = s.get("retention", {}).get("activity", {})
    out += [{"label": t["d"].format(n=n), "value": _pct(rates.get(f"d{n}"))} for n in days]
    c = s.get("commerce_30d", {})
    if "gmv" in c:
        out += [{"label": t["gmv_30d"], "value": _money(c["gmv"], cur, lang)},
                {"label": t["aov"], "value": _money(c["aov"], cur, lang)}]
    out.append({"label": t["orders_30d"], "value": f"{c.get('orders', 0):,}"})
    rep = s.get("repurchase", {})
    if rep.get("rate") is not None:
        out.append({"label": t["repurchase"].format(n=rep["days"]), "value": _pct(rep["rate"])})
    for key, value in (s.get("ltv") or {}).items():
        out.append({"label": t["ltv"].format(n=key.removeprefix("ltv")), "value": _money(value, cur, lang)})
    return out


def _stage(key: str, t: dict[str, str], lang: Lang) -> str:
    return t["not_joined"] if key == "not_joined" else word(LIFECYCLE_STAGES, key, lang)


def _flow(flow: pd.DataFrame, s: Mapping[str, Any], t: dict[str, str], lang: Lang) -> tuple[str, str]:
    share = flow.pivot_table(index="from_stage", columns="to_stage", values="share", aggfunc="sum")
    users = flow.pivot_table(index="from_stage", columns="to_stage", values="users", aggfunc="sum", fill_value=0)
    rows = [st for st in STAGES if st in share.index]
    cols = [st for st in STAGES if st in share.columns]
    share, users = share.reindex(index=rows, columns=cols), users.reindex(index=rows, columns=cols, fill_value=0)
    label = lambda keys: [_stage(k, t, lang) for k in keys]  # noqa: E731
    dates = s.get("lifecycle_flow") or {}
    title = t["flow"].format(a=dates.get("from", "?"), b=dates.get("to", s["as_of"]))
    chart = plots.heatmap(share.set_axis(label(rows)).set_axis(label(cols), axis=1), title=title,
                          xlabel=t["to"], ylabel=t["from"], cmap=plots.FLOW,
                          counts=users.set_axis(label(rows)).set_axis(label(cols), axis=1))
    return chart, title


def _funnels(frame: pd.DataFrame | None, s: Mapping[str, Any], t: dict[str, str]) -> list[dict[str, Any]]:
    if frame is None or not len(frame):
        return []
    out = []
    for name, g in frame[frame["channel"] == "all"].groupby("funnel", sort=False):
        g = g.sort_values("step")
        meta = (s.get("funnels") or {}).get(name, {})
        chart = plots.funnel(list(g["event_type"]), list(g["users"]), list(g["conversion_from_first"]),
                             title=f"{t['funnels']}: {name}",
                             note=lambda u, c: t["funnel_note"].format(users=u, conv=c))
        end = meta.get("entry_end")
        last = (pd.Timestamp(end) - pd.Timedelta(days=1)).date().isoformat() if end else "?"  # end is exclusive
        rule = t["funnel_rule"].format(first=g["event_type"].iloc[0], start=meta.get("entry_start", "?"),
                                       end=last, days=meta.get("window_days", "?"))
        out.append({"name": str(name), "chart": chart, "rule": rule})
    return out


def _channel_table(tables: Mapping[str, pd.DataFrame], s: Mapping[str, Any], days: list[int], t: dict[str, str],
                   cur: str, lang: Lang) -> tuple[list[str], list[list[str]]]:
    ret = tables["retention"]
    act = ret[(ret["basis"] == "activity") & (ret["dimension"] == "source_channel")].set_index("cohort")
    buy = ret[(ret["basis"] == "purchase") & (ret["dimension"] == "source_channel")].set_index("cohort")
    rep = tables["repurchase"]
    rep = rep[rep["dimension"] == "source_channel"].set_index("channel")
    ltv = tables.get("ltv")
    ltv = ltv[ltv["cohort"] == "all"].set_index("source_channel") if ltv is not None else None
    cac = tables.get("ltv_cac")
    cac = cac[cac["cohort"] == "all"].set_index("source_channel") if cac is not None else None
    ltv_days = sorted(int(c[3:]) for c in ltv.columns if c.startswith("ltv") and c[3:].isdigit()) if ltv is not None else []
    last_day = max(days)
    columns = [t["channel"], t["new_30d"], *[t["d"].format(n=n) for n in days], t["purchase_d30"].replace("30", str(last_day)),
               t["repurchase"].format(n=s.get("repurchase", {}).get("days", ""))]
    columns += [t["ltv"].format(n=n) for n in ltv_days]
    cac_days = [n for n in ltv_days if cac is not None and f"ltv_cac_{n}" in cac.columns]
    columns += [t["ltv_cac"].format(n=n) for n in cac_days[-1:]]
    new_30 = s.get("new_users_30d_by_source_channel", {})
    rows = []
    for channel in act.index:
        row = [word(CHANNELS, channel, lang), f"{new_30.get(channel, 0):,}"]
        row += [_pct(act.at[channel, f"d{n}_rate"]) for n in days]
        row.append(_pct(buy.at[channel, f"d{last_day}_rate"]) if channel in buy.index else "–")
        row.append(_pct(rep.at[channel, "repurchase_rate"]) if channel in rep.index else "–")
        row += [_money(ltv.at[channel, f"ltv{n}"], cur, lang) if channel in ltv.index else "–" for n in ltv_days]
        for n in cac_days[-1:]:
            value = cac.at[channel, f"ltv_cac_{n}"] if channel in cac.index else np.nan
            row.append("–" if pd.isna(value) else f"{value:.2f}")
        rows.append(row)
    return columns, rows


def _segments(profile: pd.DataFrame, t: dict[str, str], lang: Lang, feature_labels: Mapping[str, str],
              plays: Sequence[Play]) -> tuple[list[str], list[list[str]], str]:
    names = profile["name_zh" if lang == "zh" else "name_en"].tolist()
    centroid = [c for c in profile.columns if c not in ("segment", "name_zh", "name_en", "users", "share")]
    columns = [t["segment"], t["users"], t["share"], *([t["play"]] if plays else []),
               *[feature_labels.get(c, c) for c in centroid]]
    rows = []
    for name, r in zip(names, profile.itertuples(index=False), strict=True):
        values = [f"{getattr(r, c):,.1f}" if pd.notna(getattr(r, c)) else "–" for c in centroid]
        action = [play_for({"segment": r.segment}, plays, lang) or "–"] if plays else []
        rows.append([name, f"{r.users:,}", _pct(r.share), *action, *values])
    chart = plots.hbars(names, profile["users"].tolist(), title=t["segment_sizes"], note=lambda v: f"{v:,.0f}")
    return columns, rows, chart


def render_operations_html(report: OperationsReport) -> str:
    """One self-contained HTML page (charts inlined as SVG, no external resources)."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("siyu.operations", "templates"),
                             autoescape=jinja2.select_autoescape(["html", "j2"]), undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    return env.get_template("operations.html.j2").render(r=report, t=report.text)
