"""A web-shop clickstream nobody here designed, mapped by YAML alone: its own event names, two
devices as channels, sessions, and no money. validate → trainset → train --model all → promote
→ score → export → report runs without a crash; LTV is skipped for want of amounts; no
training set keeps a constant feature; label rates match a count written here; the tags
spread over their bands."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from tests.foreign.flow import assert_tags_spread, constant_features, run, write_project

START = pd.Timestamp("2025-01-06")
DAYS = 210
STEPS = np.array(["landing", "item_view", "search", "basket_add", "payment_done"])


def clickstream(n_users: int = 600, seed: int = 11) -> pd.DataFrame:
    """Visitors who come back at their own rate until they leave for good; a visit is a session
    of page events, some ending in a payment. No amount anywhere."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_users):
        joined = int(rng.integers(0, DAYS))
        rate = rng.gamma(1.5, 0.12)  # visits per day
        leaves = joined + int(rng.exponential(90))
        buy = rng.beta(1.2, 6)
        device = "app" if rng.random() < 0.4 else "web"
        day = joined
        while day < min(leaves, DAYS):
            t = START + pd.Timedelta(days=day, seconds=int(rng.integers(8 * 3600, 23 * 3600)))
            n = 1 + rng.poisson(2)
            kinds = ["landing", *rng.choice(STEPS[1:4], n, p=[0.6, 0.25, 0.15])]
            if rng.random() < buy:
                kinds.append("payment_done")
            for k, kind in enumerate(kinds):
                rows.append((f"v{u:04d}", f"s{u}-{day}", kind, t + pd.Timedelta(minutes=2 * k),
                             device if rng.random() < 0.9 else ("web" if device == "app" else "app")))
            day += 1 + int(rng.exponential(1 / rate))
    frame = pd.DataFrame(rows, columns=["visitor", "visit", "event", "time", "device"])
    frame["time"] = frame["time"].dt.strftime("%Y-%m-%d %H:%M:%S")
    return frame


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("webshop")
    raw = clickstream()
    raw.to_csv(root / "clicks.csv", index=False)
    dataset = {
        "name": "webshop", "timezone": "Asia/Shanghai",
        "events": {"path": str(root / "clicks.csv"), "format": "csv", "header": True},
        "columns": {"user_id": "visitor", "ts": "time", "event_type": "event", "channel": "device",
                    "session_id": "visit", "amount": None, "item_id": None, "category": None, "event_id": None},
        "roles": {"purchase": ["payment_done"], "interaction": ["landing", "item_view", "search", "basket_add"]},
    }
    path = write_project(root, dataset)
    return path, raw



def _label_rates(raw: pd.DataFrame, cutoff: pd.Timestamp) -> tuple[float, float]:
    """Churn (30 d, users active in the 30 d before) and 7-day purchase rate (users seen before),
    counted here from the raw file."""
    ts = pd.to_datetime(raw["time"])
    seen = set(raw.loc[ts < cutoff, "visitor"])
    recent = set(raw.loc[(ts >= cutoff - pd.Timedelta(days=30)) & (ts < cutoff), "visitor"])
    after30 = set(raw.loc[(ts >= cutoff) & (ts < cutoff + pd.Timedelta(days=30)), "visitor"])
    buyers7 = set(raw.loc[(ts >= cutoff) & (ts < cutoff + pd.Timedelta(days=7)) & (raw["event"] == "payment_done"),
                          "visitor"])
    return len(recent - after30) / len(recent), len(buyers7 & seen) / len(seen)


@pytest.mark.slow
def test_webshop_runs_end_to_end_on_its_own_vocabulary(project, monkeypatch):
    path, raw = project
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    cfg = ["--config", str(path)]
    run("validate", *cfg)
    work = path.parent / "work"
    profile = json.loads((work / "reports" / "profile.json").read_text())
    assert profile["amounts"] == 0 and set(profile["channels"]) == {"web", "app"}

    built = run("trainset", "--task", "all", *cfg)
    assert "skipped ltv sums amounts: the data has none; map `columns.amount`" in " ".join(built.split())
    assert not (work / "trainsets" / "ltv").exists()
    for task in ("churn", "purchase_intent"):
        frame = pd.read_parquet(work / "trainsets" / task / "trainset.parquet")
        manifest = json.loads((work / "trainsets" / task / "manifest.json").read_text())
        features = [f["name"] for f in manifest["features"]]
        assert constant_features(work, task) == []
        names = " ".join(features)
        assert "item_view_count_30d" in names and "web_activity_count_30d" in names
        assert "msg_open" not in names and "amount" not in names and "official_account" not in names
        omitted = {o["name"]: o["reason"] for o in manifest["omitted_features"]}
        assert "no amounts" in omitted["aov_90d"] and "no contact events" in omitted["days_since_last_contact"]
        # label rates: the same count written independently, cutoff by cutoff
        for cutoff, rows in frame.groupby("cutoff"):
            churn, buy = _label_rates(raw, pd.Timestamp(cutoff))
            assert rows["label"].mean() == pytest.approx(churn if task == "churn" else buy, abs=1e-12)

    trained = run("train", "--task", "all", "--model", "all", *cfg)
    assert "failed" not in trained and "challenger is" in trained
    run("promote", "--task", "all", *cfg)
    run("score", *cfg)  # a legitimate first run publishes without --force
    tags = assert_tags_spread(path.parent, ("churn_risk", "purchase_intent"))
    assert "ltv_tier" not in set(tags["tag"])
    run("tags", "export", "--format", "csv", *cfg)
    assert list((path.parent / "exports").glob("*.csv"))
    run("report", "--task", "churn", *cfg)
    assert list((work / "reports").glob("churn_report_*.html"))
