import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from siyu.explain.report import (
    HeldOut,
    ModelInfo,
    ReportInputs,
    build_report,
    render_html,
    render_model_card,
    render_model_card_html,
)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
NS = "{http://www.w3.org/2000/svg}"


def inline_charts(page: str) -> list[ET.Element]:
    """The SVG charts inlined in a page, parsed (each must be well-formed XML on its own)."""
    return [ET.fromstring(svg) for svg in re.findall(r"<svg .*?</svg>", page, flags=re.S)]
PII_NAMES = ["王小明", "Zhang Wei"]
PII_PHONES = ["13800138000", "+86 139 1234 5678"]


def report_inputs(model, frame, catalog) -> ReportInputs:
    X, y = frame
    n = len(X)
    user_id = [f"u{i:05d}" for i in range(n)]
    # PII rides along in the inputs: the report must never read it.
    features = X.assign(user_id=user_id, name=[PII_NAMES[i % 2] for i in range(n)],
                        phone=[PII_PHONES[i % 2] for i in range(n)])
    score = model.predict_score(X)
    band = np.select([score >= 0.5, score >= 0.2], ["high", "medium"], "low")
    scored = pd.DataFrame({"user_id": user_id, "band": band, "score": score, "name": features["name"]})
    leaderboard = pd.DataFrame({"model": ["lightgbm", "rule", "oracle"], "test_auc": [0.81, 0.66, 0.9],
                                "test_pr_auc": [0.5, 0.3, 0.7]})
    return ReportInputs(
        model=ModelInfo(task="churn", model_name="siyu-churn", model_version="3", run_id="abc123",
                        as_of="2026-03-02", data_window={"train": "2025-06-02 … 2025-09-08", "test": "2025-12-01"},
                        label="no_activity", horizon_days=30),
        feature_names=tuple(X.columns), features=features, scored=scored, band_order=("high", "medium", "low"),
        catalog=catalog,
        tag_counts={"churn_risk": pd.Series(band).value_counts(),
                    "lifecycle_stage": X["lifecycle_stage"].astype(str).value_counts()},
        leaderboard=leaderboard, band_tag="churn_risk",
        held_out=HeldOut(period="2025-12-01", metrics={"test_auc": 0.8123, "test_pr_auc": 0.51},
                         y_true=np.asarray(y), y_score=score),
    )


@pytest.fixture(scope="module")
def inputs(lgb_model, frame, catalog):
    return report_inputs(lgb_model, frame, catalog)


@pytest.fixture(scope="module")
def html_zh(lgb_model, inputs):
    return render_html(build_report(lgb_model, inputs, lang="zh", shap_rows=300))


@pytest.fixture(scope="module")
def report_en(lgb_model, inputs):
    return build_report(lgb_model, inputs, lang="en", shap_rows=300, examples_per_band=2)


@pytest.fixture(scope="module")
def card_zh(lgb_model, inputs):
    return render_model_card_html(build_report(lgb_model, inputs, lang="zh", shap_rows=300))


def test_report_and_model_card_are_self_contained_pages(html_zh, card_zh):
    for page in (html_zh, card_zh):
        assert page.startswith("<!DOCTYPE html>")
        assert not re.search(r"""(src|href)=["'](https?:|//|file:)""", page)
        assert "<img" not in page  # charts are inline SVG, not images
    operator, card = inline_charts(html_zh), inline_charts(card_zh)
    assert len(operator) == 1 and len(card) == 5  # bands; beeswarm, 3 dependence plots, calibration
    assert 'href="churn_model_card_zh.html"' in html_zh  # the operator page links the card beside it


def test_the_charts_of_a_page_speak_its_language_and_never_share_an_id(card_zh, report_en):
    texts = {t.text for svg in inline_charts(card_zh) for t in svg.iter(f"{NS}text")}
    assert {"对得分的影响 (SHAP 值)", "因素取值", "高", "低", "校准曲线"} <= texts  # no English fallback
    assert "近 90 天消费金额" in texts  # feature names in Chinese on the beeswarm rows
    english = {t.text for svg in inline_charts(render_model_card_html(report_en)) for t in svg.iter(f"{NS}text")}
    assert {"effect on the score (SHAP value)", "feature value", "Calibration"} <= english
    ids = re.findall(r"""\bid=['"]([^'"]+)['"]""", card_zh)
    assert ids and len(ids) == len(set(ids))
    assert set(re.findall(r"url\(#([^)]+)\)", card_zh)) <= set(ids)  # every reference finds its definition


def test_the_beeswarm_shows_each_sampled_user_once_per_row(lgb_model, inputs):
    report = build_report(lgb_model, inputs, lang="en", shap_rows=300, top_features=4, examples_per_band=1)
    beeswarm = ET.fromstring(report.images["beeswarm"])
    # a row's label is written on a baseline 4 px below the row's middle line
    rows = {float(t.get("y")) - 4: t.text for t in beeswarm.iter(f"{NS}text") if t.get("text-anchor") == "end"}
    assert len(rows) == 4 and "3 other features combined" in rows.values()  # 3 of 6 features, the rest summed
    ys = [float(y) for p in beeswarm.iter(f"{NS}path") if p.get("class") == "dots"
          for y in re.findall(r"M[-\d.]+ ([-\d.]+)h0", p.get("d"))]
    per_row = Counter(min(rows, key=lambda r: abs(r - y)) for y in ys)
    assert len(set(per_row.values())) == 1 and min(per_row.values()) >= 300  # every sampled user in every row


def test_report_in_chinese_shows_sections_bands_and_reasons(html_zh):
    for words in ("标签分布", "各等级的主要驱动因素", "示例用户及原因", "流失风险", "沉默用户"):
        assert words in html_zh
    assert re.search(r"<li>[^<]*: [^<]+</li>", html_zh)  # at least one reason sentence


def test_data_science_material_is_on_the_model_card_not_the_operator_page(html_zh, card_zh):
    for words in ("模型在最近一个留出期的表现", "0.8123", "oracle", "test_auc", "days_since_last_group_msg"):
        assert words in card_zh and words not in html_zh


def test_report_in_english(report_en):
    html = render_html(report_en)
    for words in ("Tag distribution", "What drives each band", "Example users and their reasons", "churn risk",
                  "Days since the last group-chat message"):
        assert words in html
    assert "标签分布" not in html


def test_no_pii_ever_reaches_the_report(report_en, html_zh):
    card = render_model_card(report_en)
    for text in (html_zh, card):
        for pii in PII_NAMES + PII_PHONES:
            assert pii not in text
    assert "u00" in html_zh  # pseudonymous ids are shown


def test_model_card_lists_metrics_baselines_and_features(report_en):
    card = render_model_card(report_en)
    assert card.startswith("# Model card")
    assert "| test_auc | 0.8123 |" in card
    assert "| rule | 0.6600 | 0.3000 |" in card
    assert "`days_since_last_group_msg`" in card
    assert "abc123" in card


def test_examples_come_from_every_band(report_en, inputs):
    report = report_en
    present = set(inputs.scored["band"])
    assert {e["band"] for e in report.examples} == present
    assert len(report.examples) == 2 * len(present)
    assert [d["band"] for d in report.drivers] == ["high", "medium", "low"]


def test_unknown_band_is_an_error(lgb_model, inputs):
    bad = ReportInputs(**{**inputs.__dict__, "band_order": ("high", "low")})
    with pytest.raises(ValueError, match=r"scored.band: values \['medium'\] are not among"):
        build_report(lgb_model, bad)


def test_missing_feature_columns_is_an_error(lgb_model, inputs):
    bad = ReportInputs(**{**inputs.__dict__, "features": inputs.features.drop(columns=["spend_sum_90d"])})
    with pytest.raises(ValueError, match=r"features: expected user_id .* missing \['spend_sum_90d'\]"):
        build_report(lgb_model, bad)


def test_no_scored_user_with_features_is_an_error(lgb_model, inputs):
    bad = ReportInputs(**{**inputs.__dict__, "scored": inputs.scored.assign(user_id="x" + inputs.scored["user_id"])})
    with pytest.raises(ValueError, match="none of them has features"):
        build_report(lgb_model, bad)


def test_duplicate_users_is_an_error(lgb_model, inputs):
    bad = ReportInputs(**{**inputs.__dict__, "scored": pd.concat([inputs.scored, inputs.scored.head(2)])})
    with pytest.raises(ValueError, match=r"scored.user_id: 2 duplicate id\(s\)"):
        build_report(lgb_model, bad)


def screenshot(html_path: Path, png_path: Path, profile: Path) -> None:
    """Headless Chromium opens the file and saves a 1280x2000 screenshot."""
    subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
         f"--user-data-dir={profile}", f"--screenshot={png_path}", "--window-size=1280,2000",
         html_path.resolve().as_uri()],
        check=True, capture_output=True, timeout=120,
    )


@pytest.mark.chromium
@pytest.mark.skipif(CHROMIUM is None, reason="needs headless Chromium (Debian package `chromium`), not installed")
def test_report_renders_in_headless_chromium(html_zh, tmp_path):
    from PIL import Image

    html_path, png_path = tmp_path / "churn_report.html", tmp_path / "churn_report.png"
    html_path.write_text(html_zh, encoding="utf-8")
    screenshot(html_path, png_path, tmp_path / "profile")
    pixels = np.asarray(Image.open(png_path).convert("RGB"))
    assert pixels.shape[:2] == (2000, 1280)
    # not blank: the header's dark band, white cards and chart colours are all there
    assert pixels.std() > 0.1 * 255
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50
    if os.environ.get("SIYU_KEEP_SCREENSHOT"):
        shutil.copy(png_path, os.environ["SIYU_KEEP_SCREENSHOT"])


def test_band_colours_follow_meaning_not_position():
    from siyu.explain.report import band_tones

    assert band_tones("no_activity", 3) == ["bad", "warn", "good"]  # high churn risk is red
    assert band_tones("any_purchase", 3) == ["top", "high", "neutral"]  # hot intent is gold, never red
    assert band_tones("net_spend", 4) == ["top", "high", "mid", "neutral"]  # LTV tier A is gold


def test_bands_show_their_play_and_amounts_their_currency(lgb_model, inputs):
    from siyu.config import Play

    plays = (Play(when={"churn_risk": "high"}, action_zh="企业微信一对一关怀", action_en="1:1 WeCom care"),)
    report = build_report(lgb_model, ReportInputs(**{**inputs.__dict__, "plays": plays}), lang="en", shap_rows=200,
                          examples_per_band=1)
    html = render_html(report)
    assert "What to do" in html and "1:1 WeCom care" in html and 'class="band tone-bad"' in html
    assert [b["play"] for b in report.bands] == ["1:1 WeCom care", "", ""]
    ltv = ModelInfo(**{**inputs.model.__dict__, "label": "net_spend"})
    amounts = build_report(lgb_model, ReportInputs(**{**inputs.__dict__, "model": ltv, "currency": "$"}),
                           lang="zh", shap_rows=200, examples_per_band=1)
    assert all(b["mean_score"].startswith("$") for b in amounts.bands if b["users"])
    assert amounts.bands[0]["tone"] == "top"
