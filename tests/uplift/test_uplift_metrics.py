"""Uplift metrics on hand-built cases: the perfect ranking scores 1 under the documented
normalisation, random rankings about 0, the true effects' own order 1 on the true-effect Qini."""

import numpy as np
import pytest

from siyu.uplift.metrics import (
    paired_uplift_difference,
    qini_curve,
    true_qini,
    true_uplift_metrics,
    uplift_metrics,
)


def _world(n: int = 6000, seed: int = 0):
    rng = np.random.default_rng(seed)
    treatment = np.where(rng.random(n) < 0.3, "msg", "control")
    tau = np.where(rng.random(n) < 0.3, 0.25, 0.0)
    y = (rng.random(n) < 0.1 + tau * (treatment == "msg")).astype(float)
    return treatment, tau, y, np.arange(n) % (n // 2)  # every user at two cutoffs


def test_the_perfect_ranking_scores_one_and_random_about_zero():
    treatment, _, y, users = _world()
    perfect = y * (treatment == "msg") - y * (treatment != "msg")
    assert uplift_metrics(y, treatment, perfect[:, None], ["msg"], users)["qini"] == pytest.approx(1.0)
    assert uplift_metrics(y, treatment, perfect[:, None], ["msg"], users)["auuc"] == pytest.approx(1.0)
    rng = np.random.default_rng(5)
    randoms = [uplift_metrics(y, treatment, rng.random((len(y), 1)), ["msg"], users)["qini"] for _ in range(20)]
    assert abs(np.mean(randoms)) < 0.03 and np.std(randoms) < 0.1


def test_the_true_effects_rank_well_and_their_reverse_badly_with_intervals():
    treatment, tau, y, users = _world()
    tie_break = np.random.default_rng(1).normal(0, 1e-9, len(y))
    good = uplift_metrics(y, treatment, (tau + tie_break)[:, None], ["msg"], users, n_boot=100, seed=0)
    bad = uplift_metrics(y, treatment, (-tau + tie_break)[:, None], ["msg"], users, n_boot=100, seed=0)
    assert good["qini"] > 0.2 and bad["qini"] < -0.2
    assert good["qini_ci_low"] < good["qini"] < good["qini_ci_high"] and good["qini_ci_low"] > 0
    # uplift@k: the effect among the top k %; the true order finds the 0.25 effect in its top 10 %
    assert good["uplift_at_10"] == pytest.approx(0.25, abs=0.08) and abs(bad["uplift_at_10"]) < 0.05


def test_true_qini_is_one_for_the_oracle_order_and_minus_one_reversed():
    _, tau, _, _ = _world()
    assert true_qini(tau, tau) == pytest.approx(1.0)
    assert true_qini(-tau, tau) == pytest.approx(-1.0)
    assert abs(true_qini(np.random.default_rng(2).random(len(tau)), tau)) < 0.05


def test_each_treatment_is_judged_on_its_own_arm_and_the_headline_weights_them():
    rng = np.random.default_rng(3)
    n = 9000
    treatment = rng.choice(["control", "coupon", "msg"], size=n, p=[0.5, 0.2, 0.3])
    tau = {"msg": np.where(rng.random(n) < 0.5, 0.2, 0.0), "coupon": np.where(rng.random(n) < 0.5, 0.3, 0.0)}
    p = 0.1 + sum(tau[t] * (treatment == t) for t in tau)
    y = (rng.random(n) < p).astype(float)
    scores = np.column_stack([tau["coupon"], tau["msg"]]) + rng.normal(0, 1e-9, (n, 2))
    out = uplift_metrics(y, treatment, scores, ["coupon", "msg"], np.arange(n))
    share = (treatment == "coupon").sum() / (treatment != "control").sum()
    assert out["qini"] == pytest.approx(share * out["qini__coupon"] + (1 - share) * out["qini__msg"])
    swapped = uplift_metrics(y, treatment, scores[:, ::-1], ["coupon", "msg"], np.arange(n))
    assert swapped["qini"] < out["qini"] - 0.1  # the msg effects do not rank the coupon arm
    truth = true_uplift_metrics(treatment, scores, np.column_stack([tau["coupon"], tau["msg"]]), ["coupon", "msg"])
    assert truth["true_qini"] == pytest.approx(1.0, abs=1e-6)


def test_a_paired_difference_of_a_model_with_itself_is_zero_and_the_oracle_beats_random():
    treatment, tau, y, users = _world()
    rng = np.random.default_rng(4)
    same = paired_uplift_difference("qini", y, treatment, tau[:, None], tau[:, None], ["msg"], users, n_boot=50, rng=rng)
    assert same.value == same.low == same.high == 0
    better = paired_uplift_difference("qini", y, treatment, (tau + rng.normal(0, 1e-9, len(y)))[:, None],
                                      rng.random((len(y), 1)), ["msg"], users, n_boot=100, rng=rng)
    assert better.low > 0


def test_the_curve_ends_where_the_random_line_ends():
    treatment, tau, y, _ = _world(2000)
    curve = qini_curve(y, treatment == "msg", tau)
    assert curve["qini"].iloc[-1] == pytest.approx(curve["random"].iloc[-1])
    assert curve["share"].iloc[0] == 0 and curve["qini"].iloc[0] == 0


def test_bad_inputs_are_named():
    treatment, tau, y, users = _world(100)
    with pytest.raises(ValueError, match="one column per treatment"):
        uplift_metrics(y, treatment, np.column_stack([tau, tau]), ["msg"], users)
    with pytest.raises(ValueError, match="both treated and control"):
        uplift_metrics(y, np.full(len(y), "control"), tau[:, None], ["msg"], users)
    with pytest.raises(ValueError, match="missing or infinite"):
        uplift_metrics(y, treatment, np.full((len(y), 1), np.nan), ["msg"], users)


def test_campaign_strata_remove_the_spurious_uplift_of_ranking_a_campaign_first():
    rng = np.random.default_rng(6)
    n = 20000
    festival = np.arange(n) < n // 2  # contacts 50 % of its users who buy at 30 %; the other 10 % at 5 %
    treatment = np.where(rng.random(n) < np.where(festival, 0.5, 0.1), "msg", "control")
    y = (rng.random(n) < np.where(festival, 0.3, 0.05)).astype(float)  # no effect at all
    score = (festival + rng.random(n) * 1e-3)[:, None]
    pooled = uplift_metrics(y, treatment, score, ["msg"], np.arange(n))
    balanced = uplift_metrics(y, treatment, score, ["msg"], np.arange(n), strata=festival)
    assert abs(pooled["qini"]) > 0.1 and abs(balanced["qini"]) < 0.03  # biased pooled; balanced ~ 0


def test_the_compiled_pass_gives_the_array_forms_numbers_for_weighted_tied_rows():
    """The bootstrap's compiled pass against the documented array form (`_curves` at tie-group
    ends, trapezoid areas above the random line, the top share by running weight), on replicate
    weights with repeated users, zero counts and tied scores."""
    from siyu.uplift.metrics import (
        TOP_SHARES,
        _area_above_random,
        _cum_at_groups,
        _curves,
        _ranked_pass,
    )

    rng = np.random.default_rng(11)
    n, users, block = 400, 150, 7
    y, t = rng.binomial(1, 0.3, n).astype(float), rng.binomial(1, 0.4, n).astype(float)
    score, base = np.round(rng.normal(size=n), 1), rng.uniform(0.5, 2.0, n)
    codes = rng.integers(0, users, n)
    counts = rng.poisson(1.0, (users, block)).astype(float)
    order, ends = _cum_at_groups(score)
    closes = np.zeros(n, bool)
    closes[ends] = True
    w = counts[codes] * base[:, None]
    thresholds = np.array([s / 100 * w.sum(0) + 1e-9 for s in TOP_SHARES])
    area_q, area_u, top = _ranked_pass(y, t, base, codes, order, closes, counts, thresholds)
    k, qini, uplift = _curves(order, ends, y, t, w)
    np.testing.assert_allclose(area_q, _area_above_random(k, qini), rtol=1e-12)
    np.testing.assert_allclose(area_u, _area_above_random(k, uplift), rtol=1e-12)
    wo, yo, to = w[order], y[order][:, None], t[order][:, None]
    for j in range(len(TOP_SHARES)):
        inside = np.cumsum(wo, axis=0) <= thresholds[j][None, :]
        inside[0] = True
        treated = (wo * yo * to * inside).sum(0) / (wo * to * inside).sum(0)
        control = (wo * yo * (1 - to) * inside).sum(0) / (wo * (1 - to) * inside).sum(0)
        np.testing.assert_allclose(top[j], treated - control, rtol=1e-12)
