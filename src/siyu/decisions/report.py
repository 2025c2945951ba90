"""The contact plan in the operators' report: who gets what, the expected gain in total and by
segment / lifecycle stage, the budget used, and (a hook) the measured lift of past plans.

Pure: a plan's rows and meta (`siyu target` writes them) in, an escaped HTML fragment out (no
<html> / <body>), in zh or en. `siyu.jobs.reporting` reads the files and inserts the fragment.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

log = logging.getLogger(__name__)

TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "title": "触达计划", "as_of": "计划日期", "run": "运行", "model": "增益模型", "eligible": "可触达用户",
        "budget": "预算", "no_budget": "不限", "planned_cost": "计划花费", "used": "已用预算",
        "treatment": "触达方式", "chosen": "选中", "holdout": "留出对照", "contacted": "实际触达",
        "gain": "预期增量价值", "cost": "成本", "mean_uplift": "平均预测增益", "none": "不触达",
        "by_treatment": "谁收到什么", "by_stage": "按生命周期阶段", "by_segment": "按用户分群",
        "users": "用户数", "share_of_gain": "占预期增量", "stage": "阶段", "segment": "分群",
        "holdout_note": ("每种触达方式随机留出 {share} 的选中用户作为对照组(标记 holdout=true,不触达),"
                         "计划到期后用 `siyu experiment --plan {run}` 比较触达组与对照组,衡量真实效果。"),
        "gain_note": "预期增量价值 = 预测增益 × 单位价值 − 成本,只计选中用户;金额单位 {currency}。",
        "readouts": "过往计划与活动的实测效果", "no_readouts": "还没有实验读数(`siyu experiment`)。",
        "all": "合计", "unknown": "未知",
    },
    "en": {
        "title": "Contact plan", "as_of": "Plan date", "run": "run", "model": "uplift model", "eligible": "eligible users",
        "budget": "budget", "no_budget": "no limit", "planned_cost": "planned cost", "used": "of the budget",
        "treatment": "treatment", "chosen": "chosen", "holdout": "holdout", "contacted": "contacted",
        "gain": "expected incremental value", "cost": "cost", "mean_uplift": "mean predicted uplift",
        "none": "no contact", "by_treatment": "Who gets what", "by_stage": "By lifecycle stage",
        "by_segment": "By segment", "users": "users", "share_of_gain": "share of the gain", "stage": "stage",
        "segment": "segment",
        "holdout_note": ("{share} of each treatment's chosen users are held out at random as its control "
                         "(holdout=true, not contacted); once the horizon has passed, `siyu experiment --plan {run}` "
                         "compares contacted with held-out users to measure what the plan really did."),
        "gain_note": "Expected incremental value = predicted uplift × value − cost, chosen users only; money in {currency}.",
        "readouts": "Measured lift of past plans and campaigns", "no_readouts": "No experiment readout yet (`siyu experiment`).",
        "all": "all", "unknown": "unknown",
    },
}

_TEMPLATE = """
<section id="contact-plan-{{ s.run_id }}" class="contact-plan">
  <h2>{{ t.title }} · {{ s.as_of }}</h2>
  <div class="meta">{{ t.run }} {{ s.run_id }} · {{ t.model }} {{ s.model }} · {{ t.eligible }}: {{ s.eligible }}
    · {{ t.budget }}: {{ s.budget }} · {{ t.planned_cost }}: {{ s.cost }}{% if s.used %} ({{ s.used }} {{ t.used }}){% endif %}</div>
  <h3>{{ t.by_treatment }}</h3>
  <table>
    <tr><th>{{ t.treatment }}</th><th>{{ t.users }}</th><th>{{ t.holdout }}</th><th>{{ t.contacted }}</th>
        <th>{{ t.gain }}</th><th>{{ t.cost }}</th><th>{{ t.mean_uplift }}</th></tr>
    {% for row in s.treatments %}
    <tr><td>{{ row.treatment }}</td><td class="num">{{ row.chosen }}</td><td class="num">{{ row.holdout }}</td>
        <td class="num">{{ row.contacted }}</td><td class="num">{{ row.gain }}</td><td class="num">{{ row.cost }}</td>
        <td class="num">{{ row.mean_uplift }}</td></tr>
    {% endfor %}
  </table>
  {% for group in s.groups %}
  <h3>{{ group.title }}</h3>
  <table>
    <tr><th>{{ group.column }}</th><th>{{ t.users }}</th><th>{{ t.chosen }}</th><th>{{ t.holdout }}</th>
        <th>{{ t.gain }}</th><th>{{ t.share_of_gain }}</th></tr>
    {% for row in group.rows %}
    <tr><td>{{ row.key }}</td><td class="num">{{ row.users }}</td><td class="num">{{ row.chosen }}</td>
        <td class="num">{{ row.holdout }}</td><td class="num">{{ row.gain }}</td><td class="num">{{ row.share }}</td></tr>
    {% endfor %}
  </table>
  {% endfor %}
  <p class="note">{{ s.gain_note }}</p>
  <p class="note">{{ s.holdout_note }}</p>
</section>
"""


def _text(lang: str) -> Mapping[str, str]:
    if lang not in TEXT:
        raise ValueError(f"lang {lang!r}: expected one of {sorted(TEXT)}")
    return TEXT[lang]


def _money(value: float) -> str:
    return f"{value:,.2f}"


def _name(column: str, key: str, lang: str) -> str:
    """A stage / RFM segment / behavioural segment key in words (the key itself when unknown)."""
    from siyu.explain.vocab import CATEGORY_VALUES, word

    if column in CATEGORY_VALUES:
        return word(CATEGORY_VALUES[column], key, lang)
    from siyu.segments.naming import NAMES

    base, _, number = key.rpartition("_")
    pair = NAMES.get(key) or (NAMES.get(base) if number.isdigit() else None)  # steady_regular_2
    if pair is None:
        return key
    name = pair[0] if lang == "zh" else pair[1]
    return name if key in NAMES else f"{name} {number}"


def _group_rows(plan: pd.DataFrame, column: str, lang: str) -> list[dict[str, str]]:
    """Users, chosen, held out and expected gain per value of `column` (largest gain first)."""
    t = _text(lang)
    keys = plan[column].astype("string").map(lambda k: _name(column, str(k), lang), na_action="ignore")
    keys = keys.fillna(t["unknown"])
    chosen = plan["treatment"] != "none"
    frame = pd.DataFrame({"key": keys, "chosen": chosen, "holdout": plan["holdout"].astype(bool) & chosen,
                          "gain": plan["expected_gain"].where(chosen, 0.0)})
    grouped = frame.groupby("key", sort=False).agg(users=("key", "size"), chosen=("chosen", "sum"),
                                                   holdout=("holdout", "sum"), gain=("gain", "sum"))
    total = float(grouped["gain"].sum())
    grouped = grouped.sort_values(["gain", "users"], ascending=False)
    return [{"key": str(key), "users": f"{int(r.users):,}", "chosen": f"{int(r.chosen):,}",
             "holdout": f"{int(r.holdout):,}", "gain": _money(float(r.gain)),
             "share": f"{float(r.gain) / total:.1%}" if total > 0 else "–"} for key, r in grouped.iterrows()]


def plan_section(meta: Mapping[str, Any], plan: pd.DataFrame, lang: str,
                 segments: pd.Series | None = None) -> dict[str, Any]:
    """The numbers of one plan's section, formatted: per treatment (and none), per lifecycle stage
    and per segment. `segments`: the `segment` tag per user_id (index), when the scores have it;
    else the plan's `rfm_segment` column is the breakdown."""
    t = _text(lang)
    totals = meta.get("totals", {})
    treatments = list(meta.get("treatments", [])) or sorted(set(plan["treatment"]) - {"none"})
    rows = []
    for name in [*treatments, "none"]:
        part = plan[plan["treatment"] == name]
        if name == "none" and part.empty:
            continue
        uplift = part[f"uplift__{name}"].mean() if f"uplift__{name}" in part and len(part) else None
        rows.append({"treatment": t["none"] if name == "none" else name, "chosen": f"{len(part):,}",
                     "holdout": f"{int(part['holdout'].sum()):,}", "contacted": f"{int((~part['holdout']).sum()):,}"
                     if name != "none" else "0", "gain": _money(float(part["expected_gain"].sum())),
                     "cost": _money(float(part["cost"].sum())), "mean_uplift": "–" if uplift is None else f"{uplift:.4g}"})
    rows.append({"treatment": t["all"], "chosen": f"{int(totals.get('chosen', 0)):,}",
                 "holdout": f"{int(totals.get('holdout', 0)):,}", "contacted": f"{int(totals.get('contacted', 0)):,}",
                 "gain": _money(float(totals.get("expected_gain", 0.0))), "cost": _money(float(totals.get("cost", 0.0))),
                 "mean_uplift": ""})
    groups = []
    if "lifecycle_stage" in plan.columns:
        groups.append({"title": t["by_stage"], "column": t["stage"], "rows": _group_rows(plan, "lifecycle_stage", lang)})
    if segments is not None and len(segments):
        with_segment = plan.assign(segment=plan["user_id"].astype(str).map(segments.astype(str)))
        groups.append({"title": t["by_segment"], "column": t["segment"], "rows": _group_rows(with_segment, "segment", lang)})
    elif "rfm_segment" in plan.columns:
        groups.append({"title": t["by_segment"], "column": "RFM", "rows": _group_rows(plan, "rfm_segment", lang)})
    budget = meta.get("budget")
    used = totals.get("budget_used_share")
    share = float(meta.get("targeting", {}).get("holdout_share", 0.0))
    currency = str(meta.get("currency", "¥"))
    versions = meta.get("model_versions", {}).get(meta.get("task", ""), {})
    return {
        "run_id": str(meta.get("run_id", "")), "as_of": str(meta.get("as_of", "")),
        "model": f"{versions.get('model_name', '')} v{versions.get('version', '')}".strip(),
        "eligible": f"{int(totals.get('users', len(plan))):,}",
        "budget": t["no_budget"] if budget is None else _money(float(budget)),
        "cost": _money(float(totals.get("cost", 0.0))), "used": None if used is None else f"{used:.1%}",
        "treatments": rows, "groups": groups,
        "gain_note": t["gain_note"].format(currency=currency),
        "holdout_note": t["holdout_note"].format(share=f"{share:.0%}", run=meta.get("run_id", "")),
    }


def _environment() -> Any:
    import jinja2

    return jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def plan_section_html(meta: Mapping[str, Any], plan: pd.DataFrame, lang: str,
                      segments: pd.Series | None = None) -> str:
    """One plan's section of the operators' report as an escaped HTML fragment (zh / en)."""
    section = plan_section(meta, plan, lang, segments)
    return _environment().from_string(_TEMPLATE).render(s=section, t=_text(lang))


def past_readouts_html(readouts: Sequence[Mapping[str, Any]], lang: str) -> str:
    """THE HOOK for past plans' measured lift: each readout dict (`siyu experiment --plan`, the JSON
    it writes) rendered by `siyu.experiments.report.readout_html(readout, lang)` under one heading.
    Without that module (or without readouts) a one-line note; a readout it cannot render is skipped
    with a warning, never a broken report."""
    import html

    t = _text(lang)
    parts = [f'<section id="plan-readouts"><h2>{html.escape(t["readouts"])}</h2>']
    try:
        from siyu.experiments.report import readout_html  # type: ignore[import-not-found]
    except ImportError:
        readout_html = None
    rendered = []
    for readout in readouts if readout_html is not None else ():
        try:
            rendered.append(readout_html(readout, lang))
        except Exception as exc:  # noqa: BLE001 - one odd readout must not cost the whole report
            log.warning("readout %s not shown: %s", readout.get("id", "?"), exc)
    parts += rendered or [f'<p class="note">{html.escape(t["no_readouts"])}</p>']
    parts.append("</section>")
    return "\n".join(parts)
