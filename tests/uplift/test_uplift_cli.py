"""An uplift task end to end through the CLI on a small generated world: trainset -> train ->
compare (with the oracle from truth/uplift.parquet) -> promote, and the champion loads with
`predict_uplift`."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from siyu.cli._config import load_config
from siyu.cli.main import app
from siyu.trainsets import load_trainset


def _run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


@pytest.mark.slow
def test_trainset_train_compare_promote_an_uplift_task(campaign_world, monkeypatch):
    from siyu.tracking import load_champion

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    cfg_args = ("--config", str(campaign_world))
    built = _run("trainset", "--task", "all", *cfg_args)
    assert "uplift_purchase" in built and "purchase_intent" in built
    trained = _run("train", "--task", "uplift_purchase", "--model", "all", *cfg_args)
    for model in ("tlearner", "xlearner", "random", "risk"):
        assert f"uplift_purchase {model}: v" in trained and "valid_qini=" in trained
    assert "challenger is v" in trained
    compared = _run("compare", "--task", "uplift_purchase", *cfg_args)
    assert "test_qini [95% CI]" in compared
    cfg = load_config(campaign_world)
    board = pd.read_csv(cfg.paths.reports_dir / "leaderboard_uplift_purchase.csv")
    assert {"tlearner", "xlearner", "random", "risk", "oracle"} <= set(board["model"])
    oracle = board.set_index("model").loc["oracle"]
    assert oracle["test_true_qini"] == 1.0 and np.isfinite(oracle["test_qini"])
    models = board[board["model"] != "oracle"]
    assert models["valid_qini"].is_monotonic_decreasing and models["test_true_qini"].notna().all()
    assert (models["test_qini_ci_low"] <= models["test_qini"]).all()
    promoted = _run("promote", "--task", "uplift_purchase", *cfg_args)
    assert "first champion" in promoted and "valid_qini" in promoted
    again = _run("promote", "--task", "uplift_purchase", *cfg_args)
    assert "already the champion" in again

    champion = load_champion("uplift_purchase", cfg.tracking)
    frame, _ = load_trainset(cfg.paths.trainsets_dir / "uplift_purchase")
    X = frame[champion.feature_names].head(20)
    uplift = champion.estimator.predict_uplift(X)
    assert champion.estimator.treatments_ == ("campaign_contact", "coupon_push") and uplift.shape == (20, 2)
    np.testing.assert_allclose(champion.predict_score(frame.head(20)), uplift.max(axis=1))
    # a retrained challenger meets the paired Qini gate on the same test campaigns
    _run("train", "--task", "uplift_purchase", "--model", "random", *cfg_args)
    gated = _run("promote", "--task", "uplift_purchase", *cfg_args)
    assert "qini challenger - champion" in gated and "interval" in gated

    # a world without true effects (a real dataset): no oracle row, and no crash
    truth = cfg.paths.truth_dir / "uplift.parquet"
    truth.rename(truth.with_suffix(".bak"))
    try:
        _run("compare", "--task", "uplift_purchase", *cfg_args)
        board = pd.read_csv(cfg.paths.reports_dir / "leaderboard_uplift_purchase.csv")
        assert "oracle" not in set(board["model"]) and board["test_true_qini"].isna().all()
        assert "no true effects" in (cfg.paths.reports_dir / "leaderboard_uplift_purchase.html").read_text()
    finally:
        truth.with_suffix(".bak").rename(truth)
