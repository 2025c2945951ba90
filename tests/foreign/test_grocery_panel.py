"""A grocery panel in the shape of a household scanner dataset: product lines of baskets (order
ids) in several stores, with coupon redemptions, campaign mailings and products kept in their
own tables. Mapped by YAML alone (four sources and an item table); the whole flow runs, baskets
count once, categories come from the product table, and label rates match an independent count."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from tests.foreign.flow import assert_tags_spread, constant_features, run, write_project

from siyu.io.cleanlog import read_events_frame

START = pd.Timestamp("2025-01-06")
DAYS = 400
STORES = [f"store_{i}" for i in (101, 205, 317, 422, 598)]
COMMODITIES = ["DAIRY", "BAKERY", "PRODUCE", "MEAT", "BEVERAGES", "SNACKS", "FROZEN", "HOUSEHOLD"]


def panel(n: int = 350, seed: int = 21) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    products = pd.DataFrame({"PRODUCT_ID": np.arange(1000, 1080),
                             "COMMODITY_DESC": np.array(COMMODITIES)[np.arange(80) % len(COMMODITIES)]})
    lines, coupons, basket = [], [], 0
    for h in range(n):
        first = int(rng.integers(0, DAYS))
        leaves = first + int(rng.exponential(120))
        rate = rng.gamma(2.0, 0.06)
        store = STORES[int(rng.integers(len(STORES)))]
        spend = rng.lognormal(1.5, 0.5)
        day = first
        while day < min(leaves, DAYS):
            basket += 1
            when = (START + pd.Timedelta(days=day)).strftime("%Y-%m-%d")
            shop = store if rng.random() < 0.85 else STORES[int(rng.integers(len(STORES)))]
            for _ in range(1 + rng.poisson(3)):
                lines.append((h, basket, when, int(rng.integers(1000, 1080)), round(float(rng.gamma(2, spend)), 2),
                               shop, f"{int(rng.integers(8, 22)):02d}{int(rng.integers(0, 60)):02d}"))
            if rng.random() < 0.15:
                coupons.append((h, when, f"C{int(rng.integers(1, 40))}", int(rng.integers(1, 9))))
            day += 1 + int(rng.exponential(1 / rate))
    campaigns = [(h, (START + pd.Timedelta(days=d)).strftime("%Y-%m-%d"), d // 30 + 1, "TypeA")
                 for d in range(10, DAYS, 30) for h in range(n) if rng.random() < 0.3]
    return {
        "transactions": pd.DataFrame(lines, columns=["household_key", "BASKET_ID", "DAY_DATE", "PRODUCT_ID",
                                                     "SALES_VALUE", "STORE_ID", "TRANS_TIME"]),
        "coupon_redempt": pd.DataFrame(coupons, columns=["household_key", "DAY_DATE", "COUPON_UPC", "CAMPAIGN"]),
        "campaign_table": pd.DataFrame(campaigns, columns=["household_key", "START_DATE", "CAMPAIGN", "DESCRIPTION"]),
        "product": products,
    }


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("grocery")
    tables = panel()
    for name, frame in tables.items():
        frame.to_csv(root / f"{name}.csv", index=False)
    none = {"event_type": None, "channel": None, "amount": None, "item_id": None, "category": None,
            "session_id": None, "event_id": None}
    dataset = {
        "name": "grocery", "timezone": "Asia/Shanghai",
        "events": {"path": str(root / "transactions.csv"), "format": "csv", "ts_format": "%Y-%m-%d"},
        "columns": {**none, "user_id": "household_key", "ts": "DAY_DATE", "channel": "STORE_ID",
                    "amount": "SALES_VALUE", "item_id": "PRODUCT_ID", "order_id": "BASKET_ID"},
        "more_events": [
            {"name": "coupons", "events": {"path": str(root / "coupon_redempt.csv"), "format": "csv",
                                           "ts_format": "%Y-%m-%d"},
             "columns": {**none, "user_id": "household_key", "ts": "DAY_DATE"}, "default_event_type": "coupon_redeem"},
            {"name": "campaigns", "events": {"path": str(root / "campaign_table.csv"), "format": "csv",
                                             "ts_format": "%Y-%m-%d"},
             "columns": {**none, "user_id": "household_key", "ts": "START_DATE"},
             "default_event_type": "campaign_mail"},
        ],
        "items": {"source": {"path": str(root / "product.csv"), "format": "csv"}, "item_id": "PRODUCT_ID",
                  "category": "COMMODITY_DESC"},
        "roles": {"purchase": ["purchase"], "interaction": ["coupon_redeem"], "contact": ["campaign_mail"],
                  "default_event_type": "purchase"},
    }
    path = write_project(root, dataset)
    return path, tables



@pytest.mark.slow
def test_grocery_panel_runs_end_to_end_from_four_tables(project, monkeypatch):
    path, tables = project
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    cfg = ["--config", str(path)]
    run("validate", *cfg)
    work = path.parent / "work"
    report = json.loads((work / "reports" / "validation.json").read_text())
    assert [t["rows_in"] for t in (report["events"], *report["more_events"])] == [
        len(tables["transactions"]), len(tables["coupon_redempt"]), len(tables["campaign_table"])]
    clean = read_events_frame(work / "clean" / "events")
    assert len(clean) == sum(len(tables[t]) for t in ("transactions", "coupon_redempt", "campaign_table"))
    assert set(clean.loc[clean["role"] == "purchase", "category"]) == set(COMMODITIES)
    assert clean.groupby("role").size().to_dict() == {"purchase": len(tables["transactions"]),
                                                      "interaction": len(tables["coupon_redempt"]),
                                                      "contact": len(tables["campaign_table"])}

    run("trainset", "--task", "all", *cfg)
    lines = tables["transactions"].assign(ts=pd.to_datetime(tables["transactions"]["DAY_DATE"]),
                                          user=tables["transactions"]["household_key"].astype(str))
    for task in ("churn", "purchase_intent", "ltv"):
        frame = pd.read_parquet(work / "trainsets" / task / "trainset.parquet")
        manifest = json.loads((work / "trainsets" / task / "manifest.json").read_text())
        features = [f["name"] for f in manifest["features"]]
        assert constant_features(work, task) == []
        names = " ".join(features)
        assert "store_101_activity_count_30d" in names or "store_205_activity_count_30d" in names
        assert "coupon_redeem_count_30d" in names and "days_since_last_campaign_mail" not in names
        if task == "purchase_intent":
            for cutoff, rows in frame.groupby("cutoff"):
                c = pd.Timestamp(cutoff)
                seen = set(lines.loc[lines["ts"] < c, "user"]) | set(
                    tables["coupon_redempt"].loc[pd.to_datetime(tables["coupon_redempt"]["DAY_DATE"]) < c,
                                                 "household_key"].astype(str)) | set(
                    tables["campaign_table"].loc[pd.to_datetime(tables["campaign_table"]["START_DATE"]) < c,
                                                 "household_key"].astype(str))
                buyers = set(lines.loc[(lines["ts"] >= c) & (lines["ts"] < c + pd.Timedelta(days=7)), "user"])
                assert rows["label"].mean() == pytest.approx(len(buyers & seen) / len(seen), abs=1e-12)
            # baskets count once: a household's 30-day purchase count is its number of baskets
            row = frame.sort_values("purchase_count_30d").iloc[-1]
            c = pd.Timestamp(row["cutoff"])
            mine = lines[(lines["user"] == row["user_id"]) & (lines["ts"] >= c - pd.Timedelta(days=30)) & (lines["ts"] < c)]
            assert row["purchase_count_30d"] == mine["BASKET_ID"].nunique() < len(mine)

    trained = run("train", "--task", "all", "--model", "all", *cfg)
    assert "failed" not in trained
    run("promote", "--task", "all", *cfg)
    run("score", *cfg)
    assert_tags_spread(path.parent, ("churn_risk", "purchase_intent", "ltv_tier"))
    run("tags", "export", "--format", "csv", *cfg)
    run("report", "--task", "ltv", *cfg)
    assert list((work / "reports").glob("ltv_report_*.html"))
