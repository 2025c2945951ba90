"""With an order id, the lines of one order are one purchase: counts, gaps, AOV and RFM
frequency count orders; amounts still sum every line; rows without an order id are untouched."""

from __future__ import annotations

import pandas as pd
from tests.features.conftest import ev, load_events

from siyu.features import AOV, RFM, FeatureSet, InterPurchase, Window, build_features


def _with_orders(con, rows, orders):
    table = load_events(con, rows)
    con.execute(f"ALTER TABLE {table} ADD COLUMN order_id VARCHAR")
    for i, order in enumerate(orders):
        if order is not None:
            con.execute(f"UPDATE {table} SET order_id = ? WHERE event_id = ?", [order, f"e{i}"])
    return table


def test_order_lines_count_once_and_their_amounts_add_up(con):
    rows = [
        ev("a", "2025-01-06 10:00:00", "purchase", amount=10.0, category="milk"),
        ev("a", "2025-01-06 10:00:00", "purchase", amount=5.0, category="milk"),
        ev("a", "2025-01-06 10:00:00", "purchase", amount=2.0, category="bread"),
        ev("a", "2025-01-16 09:00:00", "purchase", amount=7.0),  # no order id: one purchase as before
        ev("a", "2025-01-20 09:00:00", "purchase", amount=4.0, category="eggs"),
        ev("a", "2025-01-20 09:05:00", "purchase", amount=6.0, category="eggs"),
        ev("b", "2025-01-08 12:00:00", "msg_open"),
    ]
    for i, r in enumerate(rows):
        r["event_id"] = f"e{i}"
    events = _with_orders(con, rows, ["o1", "o1", "o1", None, "o2", "o2", None])
    specs = FeatureSet((Window(30, role="purchase"), Window(30, agg="sum", role="purchase"), AOV(30),
                        InterPurchase("mean"), RFM()))
    got = build_features(con, specs, events, None, ["2025-02-01"]).set_index("user_id")
    a = got.loc["a"]
    assert a["purchase_count_30d"] == 3  # o1, the line without an id, o2
    assert a["purchase_amount_sum_30d"] == 34.0
    assert a["aov_30d"] == 34.0 / 3
    assert a["inter_purchase_days_mean"] == pd.Series([10 - 1 / 24, 4.0]).mean()  # 01-06 10h -> 01-16 9h -> 01-20 9h
    # without the order ids, the same log counts six purchases
    plain = load_events(con, rows, name="plain")
    assert build_features(con, specs, plain, None, ["2025-02-01"]).set_index("user_id").loc["a", "purchase_count_30d"] == 6
