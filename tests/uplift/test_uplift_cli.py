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
    assert {"tlearner", "xlearner", "random", "risk", "oracle", "oracle_observable"} <= set(board["model"])
    oracle, observable = (board.set_index("model").loc[name] for name in ("oracle", "oracle_observable"))
    assert oracle["test_true_qini"] == 1.0 and np.isfinite(oracle["test_qini"])
    # the history's best ranking: below the hidden-state oracle's on the true effects, far above random
    assert 0.2 < observable["test_true_qini"] < 1.0 and observable["observable_ratio"] == 1.0
    models = board[~board["model"].isin(["oracle", "oracle_observable"])]
    assert models["valid_qini"].is_monotonic_decreasing and models["test_true_qini"].notna().all()
    assert models["observable_ratio"].notna().all() and (models["leak_alarm"].astype(object).fillna("") == "").all()
    assert (models["test_qini_ci_low"] <= models["test_qini"]).all()
    promoted = _run("promote", "--task", "uplift_purchase", *cfg_args)
    assert "first champion" in promoted and "valid_qini" in promoted
    from siyu.tracking import version_by_alias

    assert version_by_alias("uplift_purchase", "champion", cfg.tracking).model in {"tlearner", "xlearner"}  # a learner
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

    # a new split whose test campaigns the champion was fitted on: it is not judged on them
    import yaml

    data = yaml.safe_load(campaign_world.read_text(encoding="utf-8"))
    data["uplift"] |= {"n_test_campaigns": 5}
    wider = campaign_world.with_name("wider.yaml")
    wider.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    _run("trainset", "--task", "uplift_purchase", "--config", str(wider))
    _run("train", "--task", "uplift_purchase", "--model", "random", "--config", str(wider))
    stale = _run("promote", "--task", "uplift_purchase", "--config", str(wider))
    assert "fitted on campaigns that are test campaigns now" in " ".join(stale.split())
    _run("trainset", "--task", "uplift_purchase", *cfg_args)  # back to the module's split

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
