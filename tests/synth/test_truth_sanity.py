"""Generator sanity: realized labels, computed independently from the events by the §3
definitions, agree with the ground truth within sampling error, and the truth ranks them.

Given the hidden states at a cutoff, users' labels are independent, so the sum of labels
minus the sum of truth probabilities, divided by sqrt(sum p (1 - p)), is a standard normal.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

LABELS_SQL = """
WITH daily AS (
    SELECT user_id, CAST(ts AS DATE) AS day,
           bool_or(event_type NOT IN ('campaign_contact', 'coupon_push')) AS active,
           bool_or(event_type = 'purchase') AS bought,
           sum(CASE WHEN event_type IN ('purchase', 'refund') THEN amount ELSE 0 END) AS net
    FROM read_parquet('{events}/*.parquet') GROUP BY ALL
), truth AS (SELECT * FROM read_parquet('{truth}'))
SELECT t.user_id, t.cutoff, t.p_churn_30d, t.p_purchase_7d, t.ltv_net_90d,
       count(*) FILTER (d.active AND d.day < t.cutoff) AS active_days_before_30d,
       count(*) FILTER (d.active AND d.day >= t.cutoff AND d.day < t.cutoff + INTERVAL 30 DAY) AS active_days_30d,
       count(*) FILTER (d.bought AND d.day >= t.cutoff AND d.day < t.cutoff + INTERVAL 7 DAY) AS purchase_days_7d,
       coalesce(sum(d.net) FILTER (d.day >= t.cutoff), 0) AS net_spend_90d,
       max(d.day) FILTER (d.active AND d.day < t.cutoff) AS last_active_day
FROM truth t LEFT JOIN daily d
  ON d.user_id = t.user_id AND d.day >= t.cutoff - INTERVAL 30 DAY AND d.day < t.cutoff + INTERVAL 90 DAY
GROUP BY ALL
"""


@pytest.fixture(scope="module")
def labelled(tiny_world) -> tuple[pd.DataFrame, pd.Timestamp]:
    out, summary = tiny_world
    sql = LABELS_SQL.format(events=(out / "events").as_posix(), truth=(out / "truth" / "truth.parquet").as_posix())
    frame = duckdb.connect().execute(sql).df()
    return frame, pd.Timestamp(summary.end)


def _usable(frame: pd.DataFrame, end: pd.Timestamp, horizon_days: int) -> pd.DataFrame:
    return frame[frame["cutoff"] + pd.Timedelta(days=horizon_days) <= end]


def _z(labels: np.ndarray, p: np.ndarray) -> float:
    return float((labels.sum() - p.sum()) / np.sqrt((p * (1 - p)).sum()))


def _three_cutoffs(frame: pd.DataFrame) -> list[pd.Timestamp]:
    cutoffs = sorted(frame["cutoff"].unique())
    return [cutoffs[0], cutoffs[len(cutoffs) // 2], cutoffs[-1]]


def test_churn_rate_matches_truth_on_the_population(labelled):
    frame, end = labelled
    churn = _usable(frame, end, 30)
    churn = churn[churn["active_days_before_30d"] > 0]
    for cutoff in _three_cutoffs(churn):
        at = churn[churn["cutoff"] == cutoff]
        assert len(at) > 300
        assert abs(_z((at["active_days_30d"] == 0).to_numpy(), at["p_churn_30d"].to_numpy())) < 4, cutoff
    label = churn["active_days_30d"] == 0
    assert 0.15 < label.mean() < 0.45
    truth_auc = roc_auc_score(label, churn["p_churn_30d"])
    days_since = (churn["cutoff"] - pd.to_datetime(churn["last_active_day"])).dt.days
    assert 0.7 < truth_auc < 0.97
    assert truth_auc > roc_auc_score(label, days_since) + 0.02  # the state is more than recency


def test_purchase_rate_matches_truth(labelled):
    frame, end = labelled
    buy = _usable(frame, end, 7)
    for cutoff in _three_cutoffs(buy):
        at = buy[buy["cutoff"] == cutoff]
        assert abs(_z((at["purchase_days_7d"] > 0).to_numpy(), at["p_purchase_7d"].to_numpy())) < 4, cutoff
    label = buy["purchase_days_7d"] > 0
    assert 0.02 < label.mean() < 0.12
    assert 0.7 < roc_auc_score(label, buy["p_purchase_7d"]) < 0.97


def test_net_spend_matches_truth(labelled):
    frame, end = labelled
    ltv = _usable(frame, end, 90)
    for cutoff in ltv["cutoff"].unique():
        at = ltv[ltv["cutoff"] == cutoff]
        y, mu = at["net_spend_90d"].to_numpy(), at["ltv_net_90d"].to_numpy()
        assert abs((y - mu).sum() / np.sqrt(((y - mu) ** 2).sum())) < 4, cutoff
    assert (ltv["net_spend_90d"] == 0).mean() > 0.4  # zero-inflated
    assert np.corrcoef(ltv["net_spend_90d"], ltv["ltv_net_90d"])[0, 1] > 0.3
