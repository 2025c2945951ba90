"""The operations report: one self-contained page per language, from the analyze tables; no user
ids; each language its own file; it renders in headless Chromium."""

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from ops_world import AS_OF
from typer.testing import CliRunner

from siyu.cli.main import app
from siyu.io.tables import read_json, read_tables
from siyu.jobs.analyze import TABLES, operations_dir
from siyu.operations.report import build_operations_report, render_operations_html

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def reports(world):
    runner = CliRunner()
    out = runner.invoke(app, ["analyze", "--config", str(world.config_path), "--as-of", AS_OF.isoformat()])
    assert out.exit_code == 0, out.output
    out = runner.invoke(app, ["report", "--kind", "operations", "--config", str(world.config_path)])
    assert out.exit_code == 0, out.output
    folder = world.cfg.paths.reports_dir
    return {lang: folder / f"operations_report_{lang}.html" for lang in ("zh", "en")}


def test_each_language_gets_its_own_self_contained_page(world, reports):
    zh, en = (reports[lang].read_text(encoding="utf-8") for lang in ("zh", "en"))
    assert "私域运营报告" in zh and "Owned-audience operations report" in en
    assert "公众号" in zh and "official account" in en  # channels follow the language
    assert "第 7 日留存" in zh and "day-7 retention" in en
    currency = world.cfg.dataset.currency
    assert re.search(rf"{re.escape(currency)}[0-9][0-9,]*", zh) and re.search(rf"{re.escape(currency)}[0-9]", en)
    for page in (zh, en):
        charts = re.findall(r"<svg .*?</svg>", page, flags=re.S)
        assert len(charts) >= 6 and "<img" not in page  # inline SVG: acquisition, activity, cohorts, curves, ...
        assert all(ET.fromstring(svg) is not None for svg in charts)
        ids = re.findall(r"""\bid=['"]([^'"]+)['"]""", page)
        assert len(ids) == len(set(ids))
        assert not re.search(r"""(src|href)=["']https?:""", page)
        assert not set(re.findall(r"u\d{7}", page)) & set(world.users["user_id"])  # aggregates only: no user ids
    words = {t.text for svg in re.findall(r"<svg .*?</svg>", zh, flags=re.S)
             for t in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text")}
    assert {"第 N 日", "加入周", "新增用户", "公众号"} <= words  # the charts speak the page's language
    before = reports["zh"].stat().st_mtime_ns
    out = CliRunner().invoke(app, ["report", "--kind", "operations", "--lang", "en", "--config", str(world.config_path)])
    assert out.exit_code == 0 and "operations_report_en.html" in out.output and "_zh" not in out.output
    assert reports["zh"].stat().st_mtime_ns == before  # --lang en never overwrites the zh page


def test_the_headline_numbers_are_the_summarys(world, reports):
    summary = read_json(operations_dir(world.cfg) / "summary.json")
    d30 = summary["retention"]["activity"]["d30"]
    assert f"{d30:.1%}" in reports["en"].read_text(encoding="utf-8")


def test_a_log_without_money_shows_no_money(world, reports):
    folder = operations_dir(world.cfg)
    summary = read_json(folder / "summary.json")
    tables = read_tables(folder, TABLES)
    moneyless = {k: v for k, v in tables.items() if k not in ("ltv", "ltv_cac")}
    summary = {**summary, "has_amount": False, "ltv": None, "note_codes": [{"code": "no_amounts"}],
               "commerce_30d": {k: v for k, v in summary["commerce_30d"].items() if k in ("days", "orders", "buyers")}}
    html = render_operations_html(build_operations_report(moneyless, summary, lang="en"))
    assert "GMV, last 30 days" not in html and "realized 90-day LTV" not in html and "no amounts" in html
    assert not re.search(rf"{re.escape(summary['currency'])}[0-9]", html)  # no amount anywhere


def test_an_unknown_kind_is_refused(world):
    out = CliRunner().invoke(app, ["report", "--kind", "weekly", "--config", str(world.config_path)])
    assert out.exit_code == 1 and "expected 'task' or 'operations'" in out.output


@pytest.mark.chromium
@pytest.mark.skipif(CHROMIUM is None, reason="needs headless Chromium (Debian package `chromium`), not installed")
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_report_renders_in_headless_chromium(reports, tmp_path, lang):
    from PIL import Image

    png = tmp_path / f"operations_{lang}.png"
    subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
         f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={png}", "--window-size=1280,2400",
         reports[lang].resolve().as_uri()],
        check=True, capture_output=True, timeout=120)
    pixels = np.asarray(Image.open(png).convert("RGB"))
    assert pixels.shape[:2] == (2400, 1280)
    assert pixels.std() > 0.1 * 255 and len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50


def test_segments_show_their_names_and_plays(world, reports):
    import pandas as pd

    from siyu.config import Play

    folder = operations_dir(world.cfg)
    profile = pd.DataFrame({"segment": ["steady_regular_2", "new_joiner"], "name_zh": ["稳定常客 2", "新用户培育"],
                            "name_en": ["steady regulars 2", "new joiners"], "users": [30, 20], "share": [0.6, 0.4],
                            "tenure_days": [300.0, 12.0]})
    plays = (Play(when={"segment": "steady_regular"}, action_zh="保持节奏", action_en="keep the rhythm"),)
    report = build_operations_report(read_tables(folder, TABLES), read_json(folder / "summary.json"), lang="zh",
                                     segments=profile, feature_labels={"tenure_days": "入会天数"}, plays=plays)
    html = render_operations_html(report)
    assert "稳定常客 2" in html and "保持节奏" in html and "建议动作" in html and "入会天数" in html
    assert report.segment_rows[1][3] == "–"  # no play for new joiners here
