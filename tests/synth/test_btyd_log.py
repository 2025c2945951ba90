"""A transaction log drawn from BG/NBD × Gamma-Gamma gives back its parameters through the
event summaries and siyu's maximum-likelihood fits."""

from datetime import date

import duckdb
import numpy as np
import pytest

from siyu.features.btyd_summary import btyd_summaries
from siyu.models import btyd
from siyu.synth.btyd import bgnbd_transaction_log

TRUE = btyd.BGNBDParams(r=0.8, alpha=40.0, a=0.6, b=2.5)  # λ per day: a purchase every ~50 days
SPEND = btyd.GammaGammaParams(p=6.0, q=4.0, gamma=150.0)


@pytest.fixture(scope="module")
def summary():
    log = bgnbd_transaction_log(TRUE, SPEND, customers=5000, start=date(2025, 1, 6), days=364,
                                acquisition_days=120, rng=np.random.default_rng(7))
    con = duckdb.connect()
    con.register("events", log)
    return btyd_summaries(con, "events", [date(2026, 1, 5)])


def test_bgnbd_parameters_come_back_from_the_generated_log(summary):
    fitted = btyd.fit_bgnbd(summary["btyd_x"], summary["btyd_t_x_days"], summary["btyd_T_days"])
    assert fitted.r == pytest.approx(TRUE.r, rel=0.15)
    assert fitted.alpha == pytest.approx(TRUE.alpha, rel=0.2)
    assert fitted.a == pytest.approx(TRUE.a, rel=0.3)
    assert fitted.b == pytest.approx(TRUE.b, rel=0.35)


def test_gamma_gamma_parameters_come_back_from_the_generated_log(summary):
    fitted = btyd.fit_gamma_gamma(summary["btyd_x"] + 1, summary["btyd_spend_mean"])
    assert fitted.p == pytest.approx(SPEND.p, rel=0.15)
    assert fitted.q == pytest.approx(SPEND.q, rel=0.2)
    assert fitted.gamma == pytest.approx(SPEND.gamma, rel=0.3)


def test_the_log_is_transactions_only_and_starts_with_each_first_purchase():
    log = bgnbd_transaction_log(TRUE, SPEND, customers=50, start=date(2025, 1, 6), days=30, acquisition_days=10,
                                rng=np.random.default_rng(0))
    assert set(log["role"]) == {"purchase"} and log["user_id"].nunique() == 50
    firsts = log.groupby("user_id")["ts"].min()
    assert (firsts < np.datetime64("2025-01-16")).all()
    with pytest.raises(ValueError, match="acquisition_days"):
        bgnbd_transaction_log(TRUE, SPEND, customers=5, start=date(2025, 1, 6), days=30, acquisition_days=40,
                              rng=np.random.default_rng(0))


def test_the_seasonal_log_ends_customers_after_small_baskets_more_often():
    from siyu.synth.btyd import seasonal_dropout_log

    log = seasonal_dropout_log(customers=3000, start=date(2025, 1, 6), days=540, acquisition_days=90,
                               rng=np.random.default_rng(3))
    assert set(log["role"]) == {"purchase"} and log["user_id"].nunique() == 3000
    last = log.sort_values("ts").groupby("user_id").tail(1)
    ended = last["ts"] < np.datetime64("2026-01-01")  # quiet for the last half year: most likely gone
    small = last["amount"] < log["amount"].median()
    assert ended[small].mean() > ended[~small].mean() + 0.05
    gaps = log.sort_values(["user_id", "ts"]).groupby("user_id")["ts"].diff().dt.total_seconds().dropna()
    per_user_cv = gaps.groupby(log.sort_values(["user_id", "ts"])["user_id"]).agg(lambda g: g.std() / g.mean())
    assert per_user_cv.median() < 0.8  # regular rhythms: a Poisson process would give about 1
