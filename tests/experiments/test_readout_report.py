"""The readout HTML fragment: a section (no page), escaped, zh and en, SRM first and prominent
when it fails, lift / CUPED / group tables, calibration and compliance for a plan."""

import datetime as dt

import numpy as np
import pytest

from siyu.experiments.readout import (
    Comparison,
    Readout,
    calibrations,
    group_readouts,
    methods,
    metric_readouts,
    uplift_calibrations,
)
from siyu.experiments.report import readout_html
from siyu.experiments.stats import srm_check


def _readout(*, kind="campaign", srm_passed=True, source="cmp_<script>alert(1)</script>") -> dict:
    import pandas as pd

    rng = np.random.default_rng(0)
    n = 400
    arm = np.where(rng.random(n) < 0.5, "coupon_push", "control")
    frame = pd.DataFrame({
        "user_id": [f"u{i}" for i in range(n)], "arm": arm,
        "purchase_rate": (rng.random(n) < np.where(arm == "control", 0.1, 0.2)).astype(float),
        "purchase_rate_pre": (rng.random(n) < 0.1).astype(float),
        "spend_per_user": rng.gamma(1, 50, n), "spend_per_user_pre": rng.gamma(1, 50, n),
        "lifecycle_stage": rng.choice(["active", "silent", "new"], n, p=[0.6, 0.35, 0.05]),
        "segment": rng.choice(["steady_regular", "high_value_loyal_2"], n),
    })
    comps = [Comparison("coupon_push", arm == "coupon_push", arm == "control")]
    horizons = {"purchase_rate": 7, "spend_per_user": 90}
    metrics = metric_readouts(frame, comps, horizons)
    groups = group_readouts(frame, comps, horizons, "lifecycle_stage", min_cell=50) + group_readouts(
        frame, comps, horizons, "segment", min_cell=50)
    counts = {"control": int((arm == "control").sum()), "coupon_push": int((arm == "coupon_push").sum())}
    srm = srm_check(counts, {"control": 0.5, "coupon_push": 0.5} if srm_passed else {"control": 0.9, "coupon_push": 0.1})
    cal = calibrations(metrics, {"coupon_push": (1000.0, 200.0)}) if kind == "plan" else ()
    up = uplift_calibrations(metrics, {"coupon_push": 0.05}, "purchase_rate", 7) if kind == "plan" else ()
    return Readout(
        id="x", kind=kind, source=source, cutoff=dt.date(2025, 3, 2), data_end=dt.date(2025, 7, 25), level=0.95,
        horizons=horizons, pending={"retention": "2025-08-01"}, population="p", active_within_days=None,
        arms=counts, srm=srm, srm_skipped=None, trustworthy=srm.passed, metrics=metrics, groups=groups,
        groups_skipped={}, calibration=cal, uplift_calibration=up,
        compliance={"window": ["2025-03-02", "2025-03-09"], "treated_contacted_share": 0.97,
                    "holdout_contacted_share": 0.0, "by_treatment": {}} if kind == "plan" else None,
        notes=("a <b>note</b>",), methods=methods(0.95)).to_dict()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_fragment_is_an_escaped_section_in_both_languages(lang):
    html = readout_html(_readout(), lang)
    assert html.startswith("<section") and html.rstrip().endswith("</section>")
    assert "<html" not in html and "<body" not in html
    assert "<script>" not in html and "&lt;script&gt;" in html and "&lt;b&gt;note" in html
    assert ("样本比例检验" if lang == "zh" else "Sample ratio mismatch") in html
    assert html.index("srm") < html.index("lift-table") < html.index("group-table")
    assert ("稳定常客" if lang == "zh" else "steady regulars") in html
    assert ("高价值忠诚 2" if lang == "zh" else "high-value loyal 2") in html
    assert ("活跃用户" if lang == "zh" else "active") in html
    assert "cuped-table" in html and "pp [" in html and "2025-08-01" in html


def test_a_failing_srm_is_prominent_and_says_untrustworthy():
    html = readout_html(_readout(srm_passed=False), "en")
    assert "srm-failed" in html and "cannot be trusted" in html and "#b42318" in html
    assert "不可信" in readout_html(_readout(srm_passed=False), "zh")


def test_plan_shows_calibration_and_compliance():
    html = readout_html(_readout(kind="plan"), "en")
    assert "calibration-table" in html and "1,200" in html and "97.0%" in html
    assert "uplift-calibration-table" in html and "+5.00 pp" in html


def test_unknown_language_is_refused():
    with pytest.raises(ValueError, match="lang"):
        readout_html(_readout(), "fr")
