"""Commerce, repurchase and realized LTV equal direct pandas computations; LTV/CAC divides them."""

import ops_reference as reference
import pandas as pd
import pytest
from ops_world import AS_OF

from siyu.operations import commerce, ltv


def test_monthly_orders_and_gmv(world, ops):
    got = commerce.monthly(ops)
    ev = reference.before(world.events, AS_OF)
    buys = ev[ev["role"] == "purchase"]
    total = got[got["channel"] == "all"]
    assert total["orders"].sum() == len(buys)
    assert total["gmv"].sum() == pytest.approx(buys["amount"].sum())
    assert total["refunds"].sum() == pytest.approx(ev.loc[ev["role"] == "refund", "amount"].sum())
    june = got[(got["month"] == "2025-06-01") & (got["channel"] != "all")]
    assert june["orders"].sum() == total.loc[total["month"] == "2025-06-01", "orders"].iloc[0]
    assert (got["aov"] == got["gmv"] / got["orders"]).all()


def test_repurchase_matches_pandas(world, ops):
    got = commerce.repurchase(ops, 60)
    overall = got[got["dimension"] == "all"].iloc[0]
    assert (overall["buyers"], overall["repurchased"]) == reference.repurchase(world.events, AS_OF, 60)
    assert got.loc[got["dimension"] == "source_channel", "buyers"].sum() == overall["buyers"]


def test_realized_ltv_matches_pandas(world, ops):
    got = ltv.realized_ltv(ops, [30, 90])
    total = got[(got["source_channel"] == "all") & (got["cohort"] == "all")].iloc[0]
    for n in (30, 90):
        users, mean = reference.realized_ltv(world.events, world.users, AS_OF, n)
        assert total[f"ltv{n}_users"] == users
        assert total[f"ltv{n}"] == pytest.approx(mean)
    cells = got[(got["source_channel"] != "all") & (got["cohort"] != "all")]
    assert cells["users"].sum() == total["users"]


def test_ltv_cac_divides_ltv_by_spend_per_new_user(ops):
    value = ltv.realized_ltv(ops, [30])
    cell = value[(value["source_channel"] != "all") & (value["cohort"] != "all")].iloc[0]
    costs = pd.DataFrame({"channel": [cell["source_channel"]], "period": [cell["cohort"][:7]], "spend": [1000.0]})
    got = ltv.ltv_cac(value, costs, [30])
    row = got[got["cohort"] == cell["cohort"]].iloc[0]
    assert row["new_users"] == cell["users"] and row["cac"] == pytest.approx(1000.0 / cell["users"])
    assert row["ltv_cac_30"] == pytest.approx(cell["ltv30"] / row["cac"])
    with pytest.raises(ValueError, match="missing column"):
        ltv.ltv_cac(value, costs.drop(columns=["spend"]), [30])
    with pytest.raises(ValueError, match="period not a date"):
        ltv.ltv_cac(value, costs.assign(period=["soon"]), [30])
