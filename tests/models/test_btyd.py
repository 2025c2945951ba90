"""BG/NBD and Gamma-Gamma: recover known parameters from data simulated by the model itself."""

import numpy as np
import pytest

from siyu.models import btyd

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
