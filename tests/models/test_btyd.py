"""BG/NBD and Gamma-Gamma: equal to the reference library on the CDNOW summary, and recover
known parameters from data simulated by the model itself."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from siyu.models import btyd

FIXTURES = Path(__file__).parent / "fixtures"

TRUE = btyd.BGNBDParams(r=0.8, alpha=4.0, a=0.6, b=2.5)


@pytest.fixture(scope="module")
def simulated():
    rng = np.random.default_rng(11)
    T = rng.uniform(20, 52, size=4000)
    x, t_x = btyd.simulate_bgnbd(TRUE, T, rng)
    return x, t_x, T


def test_bgnbd_recovers_the_parameters_it_was_simulated_with(simulated):
    fitted = btyd.fit_bgnbd(*simulated)
    assert fitted.r == pytest.approx(TRUE.r, rel=0.15)
    assert fitted.alpha == pytest.approx(TRUE.alpha, rel=0.2)
    assert fitted.a == pytest.approx(TRUE.a, rel=0.3)
    assert fitted.b == pytest.approx(TRUE.b, rel=0.35)


def test_true_parameters_beat_distorted_ones_in_likelihood(simulated):
    best = btyd.bgnbd_log_likelihood(TRUE, *simulated).sum()
    worse = btyd.BGNBDParams(TRUE.r * 2, TRUE.alpha, TRUE.a, TRUE.b)
    assert best > btyd.bgnbd_log_likelihood(worse, *simulated).sum()


def test_predicted_purchases_match_a_holdout_simulation():
    """E[X(t) | history] averaged over customers matches purchases simulated after T."""
    rng = np.random.default_rng(5)
    n, T, t = 6000, 30.0, 10.0
    lam = rng.gamma(TRUE.r, 1 / TRUE.alpha, n)
    p = rng.beta(TRUE.a, TRUE.b, n)
    x, t_x, future = np.zeros(n), np.zeros(n), np.zeros(n)
    for i in range(n):
        now, alive = 0.0, True
        while alive:
            now += rng.exponential(1 / lam[i])
            if now > T + t:
                break
            if now <= T:
                x[i], t_x[i] = x[i] + 1, now
            else:
                future[i] += 1
            alive = rng.random() >= p[i]
    expected = btyd.bgnbd_expected_purchases(TRUE, t, x, t_x, np.full(n, T))
    assert expected.mean() == pytest.approx(future.mean(), rel=0.1)
    p_any = btyd.bgnbd_p_any_purchase(TRUE, t, x, t_x, np.full(n, T))
    assert p_any.mean() == pytest.approx((future > 0).mean(), abs=0.02)


def test_p_alive_is_one_without_repeat_purchases_and_falls_with_silence():
    alive = btyd.bgnbd_p_alive(TRUE, np.array([0.0, 3.0, 3.0]), np.array([0.0, 29.0, 5.0]), np.full(3, 30.0))
    assert alive[0] == 1.0
    assert alive[1] > alive[2]


def test_gamma_gamma_recovers_its_parameters():
    rng = np.random.default_rng(2)
    true = btyd.GammaGammaParams(p=6.0, q=4.0, gamma=15.0)
    nu = rng.gamma(true.q, 1 / true.gamma, size=5000)
    n = rng.integers(1, 8, size=5000)
    m = np.array([rng.gamma(true.p, 1 / v, size=k).mean() for v, k in zip(nu, n, strict=True)])
    fitted = btyd.fit_gamma_gamma(n, m)
    assert fitted.p == pytest.approx(true.p, rel=0.2)
    assert fitted.q == pytest.approx(true.q, rel=0.2)
    assert fitted.gamma == pytest.approx(true.gamma, rel=0.3)
    spend = btyd.gamma_gamma_expected_spend(fitted, np.array([0.0, 5.0]), np.array([np.nan, 100.0]))
    assert spend[0] == pytest.approx(fitted.p * fitted.gamma / (fitted.q - 1))


def test_inconsistent_recency_is_named():
    with pytest.raises(ValueError, match="violate 0 <= t_x <= T"):
        btyd.fit_bgnbd(np.array([2.0]), np.array([10.0]), np.array([5.0]))


def test_gamma_gamma_needs_buyers():
    with pytest.raises(ValueError, match="need at least 10 customers"):
        btyd.fit_gamma_gamma(np.array([1.0, 2.0]), np.array([10.0, 20.0]))


@pytest.fixture(scope="module")
def cdnow():
    """lifetimes' CDNOW summary (weeks) and lifetimes 0.11.3's fit of it (fixtures/lifetimes_reference.py)."""
    data = pd.read_csv(FIXTURES / "cdnow_summary.csv")
    ref = json.loads((FIXTURES / "lifetimes_cdnow.json").read_text())
    return {c: data[c].to_numpy(dtype=float) for c in data.columns}, ref


def test_bgnbd_fit_equals_the_reference_library(cdnow):
    data, ref = cdnow
    fitted = btyd.fit_bgnbd(data["frequency"], data["recency"], data["T"])
    for name in ("r", "alpha", "a", "b"):
        assert getattr(fitted, name) == pytest.approx(ref["bgnbd"][name], abs=1e-3)


def test_gamma_gamma_fit_equals_the_reference_library(cdnow):
    data, ref = cdnow
    repeat = data["frequency"] > 0
    fitted = btyd.fit_gamma_gamma(data["frequency"][repeat], data["monetary_value"][repeat])
    assert fitted.p == pytest.approx(ref["gamma_gamma"]["p"], abs=1e-3)
    assert fitted.q == pytest.approx(ref["gamma_gamma"]["q"], abs=1e-3)
    assert fitted.gamma == pytest.approx(ref["gamma_gamma"]["v"], abs=1e-3)


def test_scores_equal_the_reference_library_at_its_parameters(cdnow):
    data, ref = cdnow
    rows = np.array(ref["rows"])
    x, t_x, T, m = (data[c][rows] for c in ("frequency", "recency", "T", "monetary_value"))
    params = btyd.BGNBDParams(**ref["bgnbd"])
    assert btyd.bgnbd_p_alive(params, x, t_x, T) == pytest.approx(ref["p_alive"], abs=1e-6)
    for t, expected in ref["expected_purchases"].items():
        got = btyd.bgnbd_expected_purchases(params, float(t), x, t_x, T)
        assert got == pytest.approx(expected, abs=1e-6)
    spend = btyd.GammaGammaParams(p=ref["gamma_gamma"]["p"], q=ref["gamma_gamma"]["q"], gamma=ref["gamma_gamma"]["v"])
    repeat = x > 0
    got = btyd.gamma_gamma_expected_spend(spend, x[repeat], m[repeat])
    assert got == pytest.approx(ref["expected_spend_per_purchase"], abs=1e-6)


def test_weights_fit_pooled_rows_as_their_distinct_summaries(cdnow):
    """A row repeated k times and the row once with weight k have one likelihood, so one fit."""
    data, _ = cdnow
    f, rec, T = data["frequency"], data["recency"], data["T"]
    doubled = btyd.fit_bgnbd(np.tile(f, 2), np.tile(rec, 2), np.tile(T, 2))
    weighted = btyd.fit_bgnbd(f, rec, T, weights=np.full(len(f), 2.0))
    assert weighted.r == pytest.approx(doubled.r, abs=1e-6)
    assert weighted.b == pytest.approx(doubled.b, abs=1e-5)


def test_p_any_purchase_lies_between_p_alive_bounds_and_grows_with_the_horizon(cdnow):
    data, ref = cdnow
    params = btyd.BGNBDParams(**ref["bgnbd"])
    args = (data["frequency"], data["recency"], data["T"])
    short, long = btyd.bgnbd_p_any_purchase(params, 4.0, *args), btyd.bgnbd_p_any_purchase(params, 39.0, *args)
    assert (long >= short).all()
    assert (long <= btyd.bgnbd_p_alive(params, *args) + 1e-12).all()


def test_a_homogeneous_population_fits_at_the_limit_and_still_predicts():
    """One purchase rate and one dropout probability for all: r, α (and a, b) run to their bound
    with finite ratios, and the predictions stay finite and sensible."""
    rng = np.random.default_rng(8)
    n, T = 3000, np.full(3000, 60.0)
    lam, p = 0.05, 0.2
    x, t_x = np.zeros(n), np.zeros(n)
    for i in range(n):
        now = rng.exponential(1 / lam)
        while now <= T[i]:
            x[i], t_x[i] = x[i] + 1, now
            if rng.random() < p:
                break
            now += rng.exponential(1 / lam)
    fitted = btyd.fit_bgnbd(x, t_x, T)
    assert fitted.r / fitted.alpha == pytest.approx(lam, rel=0.15)
    expected = btyd.bgnbd_expected_purchases(fitted, 30.0, x, t_x, T)
    assert np.isfinite(expected).all() and expected.max() <= 30 * lam * 1.01


def test_no_repeat_purchase_at_all_is_named():
    with pytest.raises(ValueError, match="no customer has a repeat purchase"):
        btyd.fit_bgnbd(np.zeros(20), np.zeros(20), np.full(20, 30.0))
