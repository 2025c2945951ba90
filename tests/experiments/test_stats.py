"""The readout statistics on hand-built arrays: intervals cover a planted effect, the SRM check
flags a 45/55 split at large n and passes a fair one, CUPED cuts variance when the covariate
correlates and gives back the plain estimate with theta = 0."""

import numpy as np
import pytest

from siyu.experiments.stats import cuped_lift, cuped_theta, mean_lift, proportion_lift, srm_check


def test_interval_covers_a_planted_effect_about_95_percent_of_the_time():
    rng = np.random.default_rng(0)
    covered, effect = 0, 0.03
    for _ in range(400):
        y_c = (rng.random(2000) < 0.10).astype(float)
        y_t = (rng.random(1000) < 0.10 + effect).astype(float)
        lift = mean_lift(y_t, y_c)
        covered += lift.absolute_low <= effect <= lift.absolute_high
    assert 0.92 <= covered / 400 <= 0.98


def test_lift_values_and_relative_interval():
    rng = np.random.default_rng(1)
    y_c = rng.normal(100, 20, 50_000)
    y_t = rng.normal(110, 30, 50_000)
    lift = mean_lift(y_t, y_c)
    assert lift.absolute == pytest.approx(y_t.mean() - y_c.mean())
    assert lift.absolute_low < 10 < lift.absolute_high
    assert lift.relative_low < 0.10 < lift.relative_high
    assert lift.p_value < 1e-10
    assert (lift.n_treatment, lift.n_control) == (50_000, 50_000)


def test_lift_without_a_control_mean_has_no_relative_lift_and_constant_arms_are_exact():
    lift = mean_lift(np.array([1.0, 1.0, 1.0]), np.zeros(4))
    assert lift.absolute == lift.absolute_low == lift.absolute_high == 1.0
    assert lift.relative is None and lift.p_value is None


def test_lift_needs_two_users_per_arm():
    with pytest.raises(ValueError, match="at least 2 users"):
        mean_lift(np.array([1.0]), np.array([0.0, 1.0]))


def test_srm_flags_a_45_55_split_at_large_n_and_passes_a_fair_one():
    bad = srm_check({"control": 45_000, "treated": 55_000}, {"control": 0.5, "treated": 0.5})
    assert not bad.passed and bad.p_value < 1e-100 and bad.dof == 1
    rng = np.random.default_rng(3)
    treated = int(rng.binomial(100_000, 0.5))
    fair = srm_check({"control": 100_000 - treated, "treated": treated}, {"control": 1, "treated": 1})
    assert fair.passed and fair.expected_shares == (0.5, 0.5)


def test_srm_with_three_arms_and_unequal_shares():
    check = srm_check({"control": 6_000, "msg": 3_000, "coupon": 1_000}, {"control": 0.6, "msg": 0.3, "coupon": 0.1})
    assert check.passed and check.chi2 == pytest.approx(0.0)
    assert check.observed_shares == pytest.approx((0.6, 0.3, 0.1))


def test_srm_refuses_mismatched_arms_and_bad_shares():
    with pytest.raises(ValueError, match="expected shares for"):
        srm_check({"control": 10, "treated": 10}, {"control": 0.5, "other": 0.5})
    with pytest.raises(ValueError, match="positive"):
        srm_check({"control": 10, "treated": 10}, {"control": 1.0, "treated": 0.0})


def test_cuped_reduces_variance_when_the_covariate_correlates():
    rng = np.random.default_rng(4)
    n = 20_000
    x_t, x_c = rng.gamma(2, 50, n), rng.gamma(2, 50, n)
    y_t = 0.8 * x_t + rng.normal(0, 20, n) + 5
    y_c = 0.8 * x_c + rng.normal(0, 20, n)
    plain = mean_lift(y_t, y_c)
    cup = cuped_lift(y_t, y_c, x_t, x_c)
    assert cup.theta == pytest.approx(0.8, abs=0.02)
    assert cup.variance_reduction > 0.8
    assert cup.lift.se < plain.se / 2
    assert cup.lift.absolute_low < 5 < cup.lift.absolute_high
    assert cup.plain_se == pytest.approx(plain.se)


def test_cuped_with_theta_zero_is_the_plain_estimate():
    rng = np.random.default_rng(5)
    y_t, y_c, x_t, x_c = (rng.normal(size=500) for _ in range(4))
    plain = mean_lift(y_t, y_c)
    cup = cuped_lift(y_t, y_c, x_t, x_c, theta=0.0)
    assert cup.lift == plain
    assert cup.variance_reduction == pytest.approx(0.0)


def test_cuped_theta_is_zero_without_covariate_spread():
    assert cuped_theta(np.arange(5.0), np.ones(5)) == 0.0


def test_proportion_interval_keeps_its_coverage_for_rare_events_in_small_arms():
    rng = np.random.default_rng(6)
    welch = newcombe = 0
    for _ in range(400):
        y_c = (rng.random(200) < 0.05).astype(float)
        y_t = (rng.random(40) < 0.08).astype(float)
        w, n = mean_lift(y_t, y_c), proportion_lift(y_t, y_c)
        welch += w.absolute_low <= 0.03 <= w.absolute_high
        newcombe += n.absolute_low <= 0.03 <= n.absolute_high
        assert n.absolute == w.absolute
    assert newcombe / 400 >= 0.93 and newcombe > welch


def test_an_arm_without_events_still_gets_an_interval_and_no_relative_certainty():
    lift = proportion_lift(np.zeros(24), np.r_[np.ones(2), np.zeros(22)])
    assert lift.absolute == pytest.approx(-2 / 24)
    assert lift.absolute_low < -0.2 and lift.absolute_high > 0.05
    assert lift.relative == pytest.approx(-1.0) and lift.relative_low is None


def test_proportion_and_welch_agree_at_large_n():
    rng = np.random.default_rng(7)
    y_t, y_c = (rng.random(100_000) < 0.12).astype(float), (rng.random(100_000) < 0.10).astype(float)
    w, n = mean_lift(y_t, y_c), proportion_lift(y_t, y_c)
    assert n.absolute_low == pytest.approx(w.absolute_low, abs=2e-4)
    assert n.absolute_high == pytest.approx(w.absolute_high, abs=2e-4)
    with pytest.raises(ValueError, match="0 / 1"):
        proportion_lift(np.array([0.0, 2.0]), np.array([0.0, 1.0]))


def test_no_cuped_for_a_rate_with_almost_no_events_in_an_arm():
    import pandas as pd

    from siyu.experiments.readout import Comparison, metric_readouts

    rng = np.random.default_rng(8)
    n = 300
    treated = np.arange(n) < 200
    frame = pd.DataFrame({"purchase_rate": np.where(treated, rng.random(n) < 0.05, 0.0).astype(float),
                          "purchase_rate_pre": (rng.random(n) < 0.3).astype(float),
                          "retention": (rng.random(n) < 0.5).astype(float),
                          "retention_pre": (rng.random(n) < 0.5).astype(float)})
    out = {m.metric: m for m in metric_readouts(frame, [Comparison("t", treated, ~treated)],
                                                {"purchase_rate": 7, "retention": 30})}
    assert out["purchase_rate"].lift is not None and out["purchase_rate"].cuped is None
    assert out["retention"].cuped is not None
