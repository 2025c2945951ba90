"""The contact plan's section of the operators' report: numbers, both languages, escaping, the readout hook."""

import numpy as np
import pandas as pd

from siyu.decisions import PlanInputs, contact_plan, plan_totals
from siyu.decisions.report import past_readouts_html, plan_section, plan_section_html


def _plan():
    rng = np.random.default_rng(0)
    n = 60
    inputs = PlanInputs(treatments=("campaign_contact", "coupon_push"), costs=(0.5, 3.0), channels=("wecom", "wecom"),
                        budget=40.0, capacity=(None, 5), channel_capacity={}, holdout_share=0.2)
    plan = contact_plan([f"u{i}" for i in range(n)], rng.uniform(0, 0.2, (n, 2)), np.full(n, 50.0), inputs, rng)
    plan = plan.assign(lifecycle_stage=rng.choice(["active", "silent"], n), rfm_segment=rng.choice(["champions", "<b>x</b>"], n))
    meta = {"run_id": "plan-1", "as_of": "2026-03-02", "task": "uplift_purchase", "budget": 40.0,
            "treatments": ["campaign_contact", "coupon_push"], "totals": plan_totals(plan, 40.0),
            "targeting": {"holdout_share": 0.2}, "currency": "¥",
            "model_versions": {"uplift_purchase": {"model_name": "siyu-uplift_purchase", "version": "3"}}}
    return meta, plan


def test_section_numbers_add_up():
    meta, plan = _plan()
    section = plan_section(meta, plan, "en")
    chosen = plan[plan["treatment"] != "none"]
    total = section["treatments"][-1]
    assert total["chosen"] == f"{len(chosen):,}" and total["holdout"] == f"{int(chosen['holdout'].sum()):,}"
    stage = next(g for g in section["groups"] if g["column"] == "stage")
    assert sum(int(r["users"]) for r in stage["rows"]) == len(plan)
    assert section["model"] == "siyu-uplift_purchase v3" and section["used"].endswith("%")


def test_html_in_both_languages_is_escaped_and_uses_the_segment_tag():
    meta, plan = _plan()
    en = plan_section_html(meta, plan, "en")
    zh = plan_section_html(meta, plan, "zh")
    assert "Contact plan" in en and "Who gets what" in en and "By lifecycle stage" in en
    assert "触达计划" in zh and "谁收到什么" in zh and "留出对照" in zh
    assert "<b>x</b>" not in en and "&lt;b&gt;x&lt;/b&gt;" in en  # RFM breakdown, escaped
    segments = pd.Series(["high_value_loyal"] * (len(plan) - 1) + ["steady_regular_2"], index=plan["user_id"])
    with_segments = plan_section_html(meta, plan, "en", segments)
    assert "high-value loyal" in with_segments and "steady regulars 2" in with_segments
    assert "&lt;b&gt;" not in with_segments
    assert "活跃" in zh or "沉默" in zh  # lifecycle stages in words


def test_readout_hook_renders_a_note_without_readouts():
    assert "No experiment readout yet" in past_readouts_html([], "en")
    assert "实测效果" in past_readouts_html([], "zh")
