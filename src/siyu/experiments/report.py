"""The readout as an HTML fragment for the operators' report (a `<section>`, no page around it),
in zh or en: the SRM check first, then the lift table with intervals, CUPED, the lift by
lifecycle stage and segment, measured vs predicted gain. Built from the readout JSON
(`Readout.to_dict()`), every text escaped. No user ids: every number is an aggregate.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from siyu.experiments.outcomes import METRIC_BY_NAME
from siyu.explain.vocab import LIFECYCLE_STAGES, check_lang, word

TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "title_campaign": "实验复盘：活动 {source}", "title_plan": "实验复盘：触达计划 {source}",
        "meta": "分组时点 {cutoff} · 数据截至 {end} · 人群：{population}",
        "arms": "各组人数", "n": "人数", "pop_joined": "分组时点前加入的用户", "pop_active": "分组时点前 {n} 天内活跃的用户",
        "pop_plan": "计划选中的用户（触达组与留出组）", "srm": "样本比例检验（SRM）", "srm_passed": "通过：各组人数与设计比例一致（χ² = {chi2:.2f}，p = {p:.3g}）。",
        "srm_failed": "未通过：各组人数与设计比例不符（χ² = {chi2:.1f}，p = {p:.2g}），随机分组或数据记录有问题，以下结果不可信。",
        "srm_skipped": "未做：{why}", "expected": "设计比例", "observed": "实际比例",
        "untrusted": "本报告不可信：{why}",
        "lift": "提升（实验组 − 对照组）", "lift_plan": "提升（触达组 − 留出组）", "treatment": "触达方式", "metric": "指标", "users": "人数（实验 / 对照）",
        "control": "对照组", "treated": "实验组", "abs": "绝对提升 [95% 区间]", "rel": "相对提升 [95% 区间]",
        "p": "p 值", "cuped": "CUPED 方差缩减（以分组前同长度时期的同一指标为协变量）", "cuped_lift": "CUPED 提升 [95% 区间]",
        "theta": "θ", "reduction": "方差降低", "groups": "分层提升：{dim}", "group": "分层",
        "lifecycle_stage": "生命周期阶段", "segment": "用户分群", "small": "样本少，谨慎解读", "lift_of": "绝对提升 [95% 区间]",
        "skipped_dim": "{dim}：未计算（{why}）", "calibration": "实测增量收入与计划预测",
        "predicted": "预测增量价值（预期收益 + 成本）", "measured": "实测增量收入 [95% 区间]", "ratio": "实测 / 预测",
        "covered": "预测落在区间内", "yes": "是", "no": "否",
        "uplift_cal": "模型校准：预测提升与实测提升", "predicted_uplift": "平均预测提升", "measured_uplift": "实测提升 [95% 区间]",
        "compliance": "执行情况：{start} 至 {end} 期间，应触达用户中 {treated} 实际收到触达，留出组中 {holdout} 被误触达。",
        "pending": "尚未到期的指标：{items}", "notes": "说明", "methods": "方法：{lift}；{cuped}",
        "days": "{n} 天", "vs": "对照", "holdout_arm": "留出组", "contacted": "触达组",
    },
    "en": {
        "title_campaign": "Experiment readout: campaign {source}", "title_plan": "Experiment readout: contact plan {source}",
        "meta": "assigned at {cutoff} · data to {end} · population: {population}",
        "arms": "users per arm", "n": "users", "pop_joined": "users joined before the cutoff",
        "pop_active": "users active in the {n} days before the cutoff",
        "pop_plan": "the users the plan chose (contacted or held out)", "srm": "Sample ratio mismatch (SRM) check",
        "srm_passed": "Passed: the arms match the designed shares (χ² = {chi2:.2f}, p = {p:.3g}).",
        "srm_failed": "FAILED: the arms do not match the designed shares (χ² = {chi2:.1f}, p = {p:.2g}); the "
                      "randomization or the logging broke, so the results below cannot be trusted.",
        "srm_skipped": "Skipped: {why}", "expected": "designed share", "observed": "observed share",
        "untrusted": "This readout cannot be trusted: {why}",
        "lift": "Lift (treated − control)", "lift_plan": "Lift (contacted − holdout)", "treatment": "treatment", "metric": "metric",
        "users": "users (treated / control)", "control": "control", "treated": "treated",
        "abs": "absolute lift [95% CI]", "rel": "relative lift [95% CI]", "p": "p-value",
        "cuped": "CUPED variance reduction (covariate: the same metric over as many days before assignment)",
        "cuped_lift": "CUPED lift [95% CI]", "theta": "θ", "reduction": "variance reduction",
        "groups": "Lift by {dim}", "group": "group", "lifecycle_stage": "lifecycle stage", "segment": "segment",
        "small": "small cell: read with care", "lift_of": "absolute lift [95% CI]", "skipped_dim": "{dim}: not shown ({why})",
        "calibration": "Measured incremental revenue against the plan's prediction",
        "predicted": "predicted incremental value (expected gain + cost)", "measured": "measured [95% CI]",
        "ratio": "measured / predicted", "covered": "prediction inside the interval", "yes": "yes", "no": "no",
        "uplift_cal": "Is the uplift model calibrated? Mean predicted uplift against the measured lift",
        "predicted_uplift": "mean predicted uplift", "measured_uplift": "measured lift [95% CI]",
        "compliance": "Compliance: between {start} and {end}, {treated} of the users to contact got their contact; "
                      "{holdout} of the holdout got one by mistake.",
        "pending": "Not yet readable: {items}", "notes": "Notes", "methods": "Methods: {lift}; {cuped}",
        "days": "{n} d", "vs": "vs", "holdout_arm": "holdout", "contacted": "contacted",
    },
}


def _pct(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value:+.1%}" if signed else f"{value:.1%}"


def _value(value: float | None, binary: bool, signed: bool = False) -> str:
    """A rate in percent (a difference in percentage points), money with two decimals."""
    if value is None:
        return "–"
    if binary:
        return f"{value * 100:+.2f} pp" if signed else f"{value:.2%}"
    return f"{value:+,.2f}" if signed else f"{value:,.2f}"


def _interval(point: float | None, low: float | None, high: float | None, binary: bool) -> str:
    if point is None:
        return "–"
    if low is None or high is None:
        return _value(point, binary, True)
    scale, unit = (100, " pp") if binary else (1, "")
    return f"{_value(point, binary, True)} [{low * scale:+,.2f}, {high * scale:+,.2f}{unit}]"


def _relative(lift: Mapping[str, Any]) -> str:
    if lift.get("relative") is None:
        return "–"
    return f"{lift['relative']:+.1%} [{lift['relative_low']:+.1%}, {lift['relative_high']:+.1%}]"


def _metric_name(name: str, days: int, lang: str, t: Mapping[str, str]) -> str:
    m = METRIC_BY_NAME.get(name)
    label = name if m is None else (m.zh if lang == "zh" else m.en)
    return f"{label}, {t['days'].format(n=days)}"


def _group_name(dimension: str, key: str, lang: str) -> str:
    if dimension == "lifecycle_stage":
        return word(LIFECYCLE_STAGES, key, lang)
    if dimension == "segment":
        from siyu.segments.naming import NAMES

        base, number = re.fullmatch(r"(.*?)(?:_(\d+))?", key).groups()
        if base in NAMES:
            name = NAMES[base][0 if lang == "zh" else 1]
            return f"{name} {number}" if number else name
    return key


def _lift_row(m: Mapping[str, Any], lift: Mapping[str, Any], lang: str, t: Mapping[str, str]) -> dict[str, str]:
    binary = METRIC_BY_NAME[m["metric"]].binary if m["metric"] in METRIC_BY_NAME else False
    return {
        "users": f"{lift['n_treatment']:,} / {lift['n_control']:,}",
        "control": _value(lift["mean_control"], binary), "treated": _value(lift["mean_treatment"], binary),
        "abs": _interval(lift["absolute"], lift["absolute_low"], lift["absolute_high"], binary),
        "rel": _relative(lift), "p": "–" if lift.get("p_value") is None else f"{lift['p_value']:.3g}",
    }


def last_data_day(data_end: str) -> str:
    """The last day the data covers (`data_end` is exclusive)."""
    import datetime as dt

    return (dt.date.fromisoformat(str(data_end)[:10]) - dt.timedelta(days=1)).isoformat()


def _arm(name: str, t: Mapping[str, str]) -> str:
    """The words for siyu's own arm names; a treatment keeps the data's event type."""
    return {"control": t["control"], "holdout": t["holdout_arm"], "contacted": t["contacted"]}.get(name, name)


def _population(readout: Mapping[str, Any], t: Mapping[str, str]) -> str:
    if readout["kind"] == "plan":
        return t["pop_plan"]
    days = readout.get("active_within_days")
    return t["pop_joined"] if days is None else t["pop_active"].format(n=days)


def build_readout_view(readout: Mapping[str, Any], lang: str) -> dict[str, Any]:
    """What the fragment shows, as plain strings (the template only lays them out)."""
    lang = check_lang(lang)
    t = TEXT[lang]
    srm = readout.get("srm")
    view: dict[str, Any] = {
        "id": re.sub(r"[^A-Za-z0-9_-]", "-", str(readout["id"])),
        "title": t[f"title_{readout['kind']}"].format(source=readout["source"]),
        "meta": t["meta"].format(cutoff=readout["cutoff"], end=last_data_day(readout["data_end"]), population=_population(readout, t)),
        "arms": ", ".join(f"{_arm(a, t)}: {n:,}" for a, n in readout["arms"].items()),
        "trustworthy": bool(readout["trustworthy"]),
        "lift_title": t["lift_plan" if readout["kind"] == "plan" else "lift"],
    }
    if srm is None:
        view["srm_status"], view["srm_text"] = "skipped", t["srm_skipped"].format(why=readout.get("srm_skipped"))
        view["srm_rows"] = []
    else:
        key = "srm_passed" if srm["passed"] else "srm_failed"
        view["srm_status"], view["srm_text"] = key.removeprefix("srm_"), t[key].format(chi2=srm["chi2"], p=srm["p_value"])
        view["srm_rows"] = [[_arm(a, t), f"{n:,}", _pct(e), _pct(o)] for a, n, e, o in zip(
            srm["arms"], srm["counts"], srm["expected_shares"], srm["observed_shares"], strict=True)]
    if not readout["trustworthy"] and srm is None:
        view["srm_status"], view["srm_text"] = "failed", t["untrusted"].format(why=readout.get("srm_skipped"))
    view["lift_rows"], view["cuped_rows"] = [], []
    for m in readout["metrics"]:
        name = _metric_name(m["metric"], m["horizon_days"], lang, t)
        if m["lift"] is None:
            continue
        view["lift_rows"].append({"treatment": m["treatment"], "metric": name, **_lift_row(m, m["lift"], lang, t)})
        cup = m.get("cuped")
        if cup is not None:
            binary = METRIC_BY_NAME[m["metric"]].binary if m["metric"] in METRIC_BY_NAME else False
            lift = cup["lift"]
            view["cuped_rows"].append({
                "treatment": m["treatment"], "metric": name,
                "abs": _interval(lift["absolute"], lift["absolute_low"], lift["absolute_high"], binary),
                "theta": f"{cup['theta']:.3g}", "reduction": _pct(cup["variance_reduction"])})
    view["groups"] = []
    metric_names = list(readout["horizons"])
    view["group_metrics"] = [_metric_name(m, readout["horizons"][m], lang, t) for m in metric_names]
    for dim in ("lifecycle_stage", "segment"):
        cells: dict[tuple[str, str], dict[str, Any]] = {}
        for g in (g for g in readout["groups"] if g["dimension"] == dim):
            cell = cells.setdefault((g["treatment"], g["group"]), {
                "treatment": g["treatment"], "group": _group_name(dim, g["group"], lang), "small": g["small"],
                "users": f"{g['n_treatment']:,} / {g['n_control']:,}", "lifts": {}})
            binary = METRIC_BY_NAME[g["metric"]].binary if g["metric"] in METRIC_BY_NAME else False
            lift = g["lift"]
            cell["lifts"][g["metric"]] = "–" if lift is None else _interval(
                lift["absolute"], lift["absolute_low"], lift["absolute_high"], binary)
        if cells:
            view["groups"].append({"title": t["groups"].format(dim=t[dim]), "rows": [
                {**c, "lifts": [c["lifts"].get(m, "–") for m in metric_names]} for c in cells.values()]})
    view["skipped"] = [t["skipped_dim"].format(dim=t.get(d, d), why=why) for d, why in readout["groups_skipped"].items()]
    view["calibration"] = [{
        "treatment": c["treatment"], "predicted": f"{c['predicted_value']:,.0f}",
        "measured": f"{c['measured']:,.0f} [{c['measured_low']:,.0f}, {c['measured_high']:,.0f}]",
        "ratio": "–" if c["ratio"] is None else f"{c['ratio']:.2f}×", "covered": t["yes" if c["covered"] else "no"],
        "days": t["days"].format(n=c["horizon_days"])} for c in readout.get("calibration") or []]
    view["uplift_calibration"] = []
    for c in readout.get("uplift_calibration") or []:
        binary = METRIC_BY_NAME[c["metric"]].binary if c["metric"] in METRIC_BY_NAME else False
        view["uplift_calibration"].append({
            "treatment": c["treatment"], "metric": _metric_name(c["metric"], c["horizon_days"], lang, t),
            "predicted": _value(c["predicted"], binary, True),
            "measured": _interval(c["measured"], c["measured_low"], c["measured_high"], binary),
            "covered": t["yes" if c["covered"] else "no"]})
    comp = readout.get("compliance")
    view["compliance"] = None
    if comp and comp.get("treated_contacted_share") is not None:
        view["compliance"] = t["compliance"].format(start=comp["window"][0], end=comp["window"][1],
                                                    treated=_pct(comp["treated_contacted_share"]),
                                                    holdout=_pct(comp.get("holdout_contacted_share") or 0.0))
    pending = readout.get("pending") or {}
    view["notes"] = ([t["pending"].format(items=", ".join(f"{k} ({v})" for k, v in pending.items()))] if pending else [])
    view["notes"] += [n for n in readout.get("notes", ()) if not n.startswith("not yet readable")]
    methods = readout.get("methods") or {}
    view["methods"] = t["methods"].format(lift=methods.get("lift", ""), cuped=methods.get("cuped", ""))
    return view


def readout_html(readout: Mapping[str, Any], lang: str) -> str:
    """An escaped HTML fragment (`<section class="siyu-readout">`) showing one readout in zh or en."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("siyu.experiments", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    return env.get_template("readout.html.j2").render(v=build_readout_view(readout, lang), t=TEXT[check_lang(lang)])
