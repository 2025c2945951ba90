"""Training jobs end to end on toy training sets in a temporary tracking store:
train, compare (with the oracle), the promotion gate and its audit, and an Optuna study."""

import json
from pathlib import Path
from urllib.parse import urlparse

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from siyu.config import (
    DatasetConfig,
    EventRoles,
    PathsConfig,
    SiyuConfig,
    SourceConfig,
    TrackingConfig,
    TrainingConfig,
)
from siyu.evaluation import Interval
from siyu.jobs import training as jobs
from siyu.models import LightGBMClassifier, btyd
from siyu.models.synthetic import toy_manifest, toy_trainset
from siyu.tracking import list_versions, load_champion, load_test_scores, version_by_alias
from siyu.trainsets import GridError


@pytest.fixture(scope="module")
def cfg(tmp_path_factory):
    previous = mlflow.get_tracking_uri()
    yield _project(tmp_path_factory.mktemp("project"))
    mlflow.set_tracking_uri(previous)


def _project(root):
    """A toy project: a churn training set, a truth file, its own MLflow store."""
    config = SiyuConfig(
        dataset=DatasetConfig(name="toy", events=SourceConfig(path="unused"), roles=EventRoles()),
        paths=PathsConfig(world=str(root / "world"), work=str(root / "work")),
        tracking=TrackingConfig(uri=f"sqlite:///{root}/mlflow.db", artifact_root=str(root / "mlartifacts")),
        training=TrainingConfig(plots=False, n_jobs=1),  # plots are tested in tests/evaluation
    )
    frame = toy_trainset("churn", n_users=300, n_cutoffs=4, rng=np.random.default_rng(9))
    directory = config.paths.trainsets_dir / "churn"
    directory.mkdir(parents=True)
    frame.to_parquet(directory / "trainset.parquet")
    (directory / "manifest.json").write_text(json.dumps(toy_manifest(frame, "churn")), encoding="utf-8")
    test = frame[frame["split"] == "test"]
    truth = pd.DataFrame({"user_id": test["user_id"], "cutoff": test["cutoff"],
                          "p_churn_30d": 0.1 + 0.8 * test["label"], "p_purchase_7d": 0.1, "ltv_net_90d": 0.0})
    config.paths.truth_dir.mkdir(parents=True)
    truth.to_parquet(config.paths.truth_dir / "truth.parquet")
    return config


def _audit(cfg):
    return pd.read_csv(cfg.paths.reports_dir / "promotions.csv")


def test_missing_trainset_says_how_to_build_it(cfg):
    with pytest.raises(jobs.TrainsetMissing, match="siyu trainset --task ltv"):
        jobs.train(cfg, "ltv", "lightgbm")


def test_gate_promotes_the_better_and_refuses_the_worse(cfg):
    frame, manifest, _ = jobs.load_task_data(cfg, "churn")
    weak = LightGBMClassifier(n_estimators=5, n_jobs=1, calibration="none")
    first = jobs.fit_and_log(cfg, "churn", "noise_only", weak, frame, manifest, ["noise_0"])
    decision = jobs.promote(cfg, "churn")
    assert decision.promoted and "first champion: best on validation" in decision.reason
    assert decision.difference is None

    strong = jobs.train(cfg, "churn", "lightgbm").results[0]
    decision = jobs.promote(cfg, "churn")
    assert decision.promoted and decision.champion_version == first.version
    assert decision.difference.low > 0 and "lower bound is above the margin 0" in decision.reason
    assert version_by_alias("churn", "champion", cfg.tracking).version == strong.version

    jobs.fit_and_log(cfg, "churn", "noise_only", LightGBMClassifier(n_estimators=5, n_jobs=1), frame, manifest,
                     ["noise_1"])
    decision = jobs.promote(cfg, "churn")
    assert not decision.promoted and "not above the margin" in decision.reason
    assert decision.difference.high < 0  # noise is clearly worse than the champion
    assert version_by_alias("churn", "champion", cfg.tracking).version == strong.version

    audit = _audit(cfg)
    assert list(audit["decision"]) == ["promoted", "promoted", "refused"]
    assert audit["ci_low"].isna().tolist() == [True, False, False]
    assert audit.loc[1, "ci_low"] > 0 and audit.loc[2, "ci_high"] < 0
    tags = MlflowClient(cfg.tracking.uri).get_model_version("siyu-churn", decision.challenger_version).tags
    assert tags["promotion_decision"] == "refused" and "not above the margin" in tags["promotion_reason"]
    assert float(tags["promotion_ci_high"]) < 0


def test_a_champion_without_logged_test_scores_is_re_scored_on_the_features(cfg, tmp_path):
    fresh = cfg.model_copy(update={"tracking": cfg.tracking.model_copy(update={
        "uri": f"sqlite:///{tmp_path}/mlflow.db", "artifact_root": str(tmp_path / "art")})})
    frame, manifest, _ = jobs.load_task_data(fresh, "churn")
    strong = jobs.fit_and_log(fresh, "churn", "lightgbm", LightGBMClassifier(n_estimators=20, n_jobs=1), frame,
                              manifest, ["days_since_last_activity", "noise_0"])
    jobs.promote(fresh, "churn")
    jobs.fit_and_log(fresh, "churn", "noise_only", LightGBMClassifier(n_estimators=5, n_jobs=1), frame, manifest,
                     ["noise_2"])
    logged = jobs.promote(fresh, "churn")
    artifacts = urlparse(MlflowClient(fresh.tracking.uri).get_run(strong.run_id).info.artifact_uri).path
    Path(artifacts, "evaluation", "test_scores.parquet").unlink()
    assert load_test_scores(strong.run_id, fresh.tracking) is None
    rescored = jobs.promote(fresh, "churn")
    assert not rescored.promoted and logged.difference.high < 0
    assert rescored.difference.value == pytest.approx(logged.difference.value)
    assert (rescored.difference.low, rescored.difference.high) == pytest.approx((logged.difference.low,
                                                                                logged.difference.high))


def test_the_first_champion_is_picked_on_validation_not_test(cfg, tmp_path):
    fresh = cfg.model_copy(update={"tracking": cfg.tracking.model_copy(update={
        "uri": f"sqlite:///{tmp_path}/mlflow.db", "artifact_root": str(tmp_path / "art")})})
    frame, manifest, _ = jobs.load_task_data(fresh, "churn")
    jobs.fit_and_log(fresh, "churn", "lightgbm", LightGBMClassifier(n_estimators=20, n_jobs=1), frame, manifest,
                     ["days_since_last_activity", "noise_0"])
    jobs.fit_and_log(fresh, "churn", "noise_only", LightGBMClassifier(n_estimators=5, n_jobs=1), frame, manifest,
                     ["noise_2"])
    runs = {v.model: v for v in list_versions("churn", fresh.tracking)}
    # make the noise model look best on test: the gate must still choose by validation
    MlflowClient(fresh.tracking.uri).log_metric(runs["noise_only"].run_id, "test_auc", 0.99)
    decision = jobs.promote(fresh, "churn")
    assert decision.promoted and decision.challenger_version == runs["lightgbm"].version


def test_an_old_audit_log_is_widened_not_lost(cfg, tmp_path):
    path = tmp_path / "promotions.csv"
    path.write_text("decided_at,registered_model,task,decision,challenger_version,champion_version,metric,"
                    "challenger_value,champion_value,margin,reason\n,siyu-churn,churn,promoted,1,,test_auc,0.7,,0.002,"
                    "old\n", encoding="utf-8")
    decision = jobs.PromotionDecision(task="churn", promoted=False, challenger_version="3", champion_version="1",
                                      metric="test_auc", challenger_value=0.71, champion_value=0.7, reason="new",
                                      difference=Interval(0.01, -0.01, 0.03, n_boot=100))
    jobs._append_audit(path, decision, "2026-12-02", "siyu", 0.0)
    audit = pd.read_csv(path)
    assert list(audit["reason"]) == ["old", "new"] and audit.loc[1, "ci_low"] == pytest.approx(-0.01)


def test_compare_puts_the_oracle_beside_the_models(cfg):
    board = jobs.compare(cfg, "churn")
    table = board.table.set_index("model")
    assert {"lightgbm", "noise_only", "oracle"} <= set(table.index)
    assert table.loc["oracle", "test_auc"] == pytest.approx(1.0)
    assert table.loc["lightgbm", "oracle_ratio"] == pytest.approx(table.loc["lightgbm", "test_auc"] * 2 - 1)
    assert "champion" in table.loc["lightgbm", "aliases"]
    assert board.csv_path.exists() and "oracle_observable" in board.html_path.read_text(encoding="utf-8")
    assert table["observable_ratio"].isna().all()  # this truth file predates the observable columns
    models = board.table[board.table["valid_auc"].notna()]
    assert models["valid_auc"].is_monotonic_decreasing and list(board.table["model"])[-1] == "oracle"
    lightgbm = table.loc["lightgbm"]
    assert lightgbm["test_auc_ci_low"] < lightgbm["test_auc"] < lightgbm["test_auc_ci_high"]
    assert set(board.by_cutoff["model"]) >= {"lightgbm", "oracle"}
    assert "purged by the 30-day label window" in board.html_path.read_text(encoding="utf-8")


def test_a_model_above_the_observable_oracle_raises_the_leak_alarm(cfg, tmp_path):
    frame, _, _ = jobs.load_task_data(cfg, "churn")
    test = frame[frame["split"] == "test"]
    rng = np.random.default_rng(0)
    for name, observable in {"weak": rng.random(len(test)), "strong": 0.1 + 0.8 * test["label"]}.items():
        (tmp_path / name / "truth").mkdir(parents=True)
        pd.DataFrame({"user_id": test["user_id"], "cutoff": test["cutoff"], "p_churn_30d": 0.1 + 0.8 * test["label"],
                      "p_churn_30d_observable": observable}).to_parquet(tmp_path / name / "truth" / "truth.parquet")
    weak = cfg.model_copy(update={"paths": cfg.paths.model_copy(update={"world": str(tmp_path / "weak")})})
    table = jobs.compare(weak, "churn").table.set_index("model")
    assert table.loc["lightgbm", "leak_alarm"].startswith("likely leakage")  # beats a coin flip "oracle"
    assert "likely leakage" in jobs.compare(weak, "churn").html_path.read_text(encoding="utf-8")
    strong = cfg.model_copy(update={"paths": cfg.paths.model_copy(update={"world": str(tmp_path / "strong")})})
    assert (jobs.compare(strong, "churn").table["leak_alarm"] == "").all()


def test_an_unpurged_trainset_is_refused(cfg, tmp_path):
    frame = toy_trainset("churn", n_users=50, n_cutoffs=4, horizon_days=7, rng=np.random.default_rng(1))
    leaky = cfg.model_copy(update={"paths": cfg.paths.model_copy(update={"work": str(tmp_path)})})
    directory = leaky.paths.trainsets_dir / "churn"
    directory.mkdir(parents=True)
    frame.to_parquet(directory / "trainset.parquet")
    (directory / "manifest.json").write_text(json.dumps(toy_manifest(frame, "churn", horizon_days=30)))
    with pytest.raises(GridError, match=r"label window reaches past the first valid cutoff .*siyu trainset"):
        jobs.load_task_data(leaky, "churn")


def test_an_observable_column_adds_the_observable_oracle_row(cfg, tmp_path):
    frame, _, _ = jobs.load_task_data(cfg, "churn")
    test = frame[frame["split"] == "test"]
    truth = pd.DataFrame({"user_id": test["user_id"], "cutoff": test["cutoff"], "p_churn_30d": 0.1 + 0.8 * test["label"],
                          "p_churn_30d_observable": np.where(np.arange(len(test)) % 4 == 0, 0.5, 0.2 + 0.6 * test["label"])})
    (tmp_path / "truth").mkdir()
    truth.to_parquet(tmp_path / "truth" / "truth.parquet")
    with_observable = cfg.model_copy(update={"paths": cfg.paths.model_copy(update={"world": str(tmp_path)})})
    oracles = jobs.oracle_metrics(with_observable, "churn", frame)
    assert set(oracles) == {"oracle", "oracle_observable"}
    assert oracles["oracle"][0]["auc"] == pytest.approx(1.0) and oracles["oracle_observable"][0]["auc"] < 1.0
    assert oracles["oracle_observable"][1] == len(test)
    assert set(jobs.oracle_metrics(cfg, "churn", frame)) == {"oracle"}  # an older truth file: no observable row


def test_train_all_skips_nothing_and_picks_the_challenger_on_valid(cfg):
    result = jobs.train(cfg, "churn", "all")
    assert [r.model for r in result.results] == ["lightgbm", "xgboost", "rule", "logistic"]
    assert all(r.version and not r.skipped for r in result.results)
    assert version_by_alias("churn", "challenger", cfg.tracking).version == result.challenger


def test_models_fitted_side_by_side_equal_one_at_a_time_and_keep_their_version_order(cfg):
    """With two threads the models of a task fit side by side (`train_tasks`); each is the model it
    would be alone, and they are logged, so numbered, in their configured order."""
    alone = jobs.train(cfg, "churn", "all")
    two = cfg.model_copy(update={"training": cfg.training.model_copy(update={"n_jobs": 2})})
    together = jobs.train(two, "churn", "all")
    assert [r.model for r in together.results] == [r.model for r in alone.results]
    versions = [int(r.version) for r in together.results]
    assert versions == list(range(versions[0], versions[0] + len(versions)))
    assert versions[0] > max(int(r.version) for r in alone.results)
    for a, b in zip(alone.results, together.results, strict=True):
        assert b.metrics == pytest.approx(a.metrics, rel=1e-9), a.model
    assert version_by_alias("churn", "challenger", cfg.tracking).version == together.challenger


def test_an_uplift_challenger_is_a_learner_never_a_yardstick():
    """The baselines of an uplift task stand on the board but are not made challenger while an
    effect learner was trained (they dress a ranking as an effect); other tasks choose among all."""
    trained = [jobs.ModelResult(task="u", model=m, version=str(i)) for i, m in
               enumerate(["response", "xlearner", "random", "risk", "drlearner"])]
    assert [r.model for r in jobs.challenger_candidates(True, trained)] == ["xlearner", "drlearner"]
    assert jobs.challenger_candidates(True, trained[2:4]) == trained[2:4]  # only yardsticks: nothing else to pick
    assert jobs.challenger_candidates(False, trained) == trained


def test_training_says_how_many_models_are_logged_and_which_are_fitting(cfg):
    said: list[str] = []
    jobs.train(cfg, "churn", "rule", progress=said.append)
    assert said == ["training: 0 of 1 models logged; fitting churn rule", "training: 0 of 1 models logged",
                    "training: 1 of 1 models logged"]


def test_a_fitting_booster_shows_its_round(cfg):
    said: list[str] = []
    jobs.train(cfg, "churn", "lightgbm", progress=said.append)
    assert said[:2] == ["training: 0 of 1 models logged; fitting churn lightgbm",
                        "training: 0 of 1 models logged; fitting churn lightgbm (round 1)"]  # the first round at once
    assert said[-1] == "training: 1 of 1 models logged"


def test_a_missing_training_set_stops_every_task_before_any_fit(cfg):
    before = len(list_versions("churn", cfg.tracking))
    with pytest.raises(jobs.TrainsetMissing, match="ltv"):
        list(jobs.train_tasks(cfg, ["churn", "ltv"], "lightgbm"))
    assert len(list_versions("churn", cfg.tracking)) == before  # churn's training set is there, but nothing fitted


def test_a_model_whose_logging_fails_is_named_and_the_others_are_registered(cfg, monkeypatch):
    """Logging runs beside the next model's fit; a failure there reaches the result like a failed
    fit (`all` goes on), and a model asked for alone raises it."""
    import siyu.tracking

    real = siyu.tracking.log_training_run

    def flaky(record, tracking, **kwargs):
        if record.model == "xgboost":
            raise OSError("disk full")
        return real(record, tracking, **kwargs)

    monkeypatch.setattr(siyu.tracking, "log_training_run", flaky)
    result = jobs.train(cfg, "churn", "all")
    by_model = {r.model: r for r in result.results}
    assert by_model["xgboost"].failed == "OSError: disk full" and not by_model["xgboost"].version
    assert all(r.version for m, r in by_model.items() if m != "xgboost")
    assert result.challenger in {r.version for r in result.results if r.version}
    with pytest.raises(OSError, match="disk full"):
        jobs.train(cfg, "churn", "xgboost")


def test_logging_beside_a_fit_runs_under_the_one_thread_cap_even_on_one_lane(cfg, monkeypatch):
    """The main thread logs a model (LightGBM predictions) while the only lane fits the next: the
    process-wide cap must hold then too, or a prediction resizes LightGBM's threads under a fit."""
    import ctypes

    from lightgbm.basic import _LIB

    import siyu.tracking

    real, caps = siyu.tracking.log_training_run, []

    def logged(record, tracking, **kwargs):
        cap = ctypes.c_int(0)
        _LIB.LGBM_GetMaxThreads(ctypes.byref(cap))
        caps.append(cap.value)
        return real(record, tracking, **kwargs)

    monkeypatch.setattr(siyu.tracking, "log_training_run", logged)
    assert cfg.training.n_jobs == 1
    [result] = list(jobs.train_tasks(cfg, ["churn"], "all"))
    assert len(caps) == len(result.results) > 1 and set(caps) == {1}
    cap = ctypes.c_int(0)
    _LIB.LGBM_GetMaxThreads(ctypes.byref(cap))
    assert cap.value == -1  # lifted once training ends


def test_study_logs_trials_as_nested_runs(cfg):
    said: list[str] = []
    result = jobs.tune(cfg, "churn", "xgboost", n_trials=2, progress=said.append)
    assert said[:2] == ["churn: tuning xgboost, trial 1 of 2", "churn: tuning xgboost, trial 1 of 2 (round 1)"]
    assert any(s.startswith("churn: tuning xgboost, trial 2 of 2; best valid_auc 0.") for s in said)
    assert said[-2].startswith("churn: tuning xgboost, 2 trials done; best valid_auc")
    assert said[-1] == "churn: refitting xgboost with the best parameters"
    client = MlflowClient(cfg.tracking.uri)
    experiment = client.get_experiment_by_name(cfg.tracking.experiment)
    children = client.search_runs([experiment.experiment_id],
                                  f"tags.mlflow.parentRunId = '{result.study_run_id}'")
    kinds = sorted(r.data.tags.get("kind", "") for r in children)
    assert kinds == ["training", "trial", "trial"]
    assert result.n_trials == 2 and result.version
    assert version_by_alias("churn", "challenger", cfg.tracking).version == result.version


def test_tune_refuses_a_baseline(cfg):
    with pytest.raises(ValueError, match="cannot be tuned"):
        jobs.tune(cfg, "churn", "rule", n_trials=1)


@pytest.fixture(scope="module")
def orders_cfg(tmp_path_factory):
    """An order history alone (purchases only): the transaction-only gate applies."""
    root = tmp_path_factory.mktemp("orders")
    previous = mlflow.get_tracking_uri()
    config = SiyuConfig(
        dataset=DatasetConfig(name="orders", events=SourceConfig(path="unused"),
                              roles=EventRoles(purchase=("purchase",), default_event_type="purchase")),
        paths=PathsConfig(world=str(root / "world"), work=str(root / "work")),
        tracking=TrackingConfig(uri=f"sqlite:///{root}/mlflow.db", artifact_root=str(root / "mlartifacts")),
        training=TrainingConfig(plots=False, n_jobs=1, n_bootstrap=200),
    )
    frame = toy_trainset("purchase_intent", n_users=300, n_cutoffs=4, rng=np.random.default_rng(5))
    directory = config.paths.trainsets_dir / "purchase_intent"
    directory.mkdir(parents=True)
    frame.to_parquet(directory / "trainset.parquet")
    (directory / "manifest.json").write_text(json.dumps(toy_manifest(frame, "purchase_intent")), encoding="utf-8")
    yield config
    mlflow.set_tracking_uri(previous)


def test_on_orders_alone_a_booster_that_does_not_beat_bgnbd_leaves_it_champion(orders_cfg):
    cfg = orders_cfg
    frame, manifest, features = jobs.load_task_data(cfg, "purchase_intent")
    bgnbd = jobs.fit_and_log(cfg, "purchase_intent", "bgnbd", jobs._new_model(cfg, "purchase_intent", "bgnbd", manifest),
                             frame, manifest, features)
    noise = jobs.fit_and_log(cfg, "purchase_intent", "lightgbm",
                             LightGBMClassifier(n_estimators=5, n_jobs=1, calibration="none"), frame, manifest,
                             ["noise_0"])
    # the noise booster wins validation: the first champion would be it, were it not for the gate
    MlflowClient(cfg.tracking.uri).log_metric(noise.run_id, "valid_auc", 0.99)
    decision = jobs.promote(cfg, "purchase_intent")
    assert decision.promoted and decision.challenger_version == bgnbd.version
    assert "BG/NBD v" in decision.reason and "does not beat BG/NBD" in decision.reason
    assert version_by_alias("purchase_intent", "champion", cfg.tracking).version == bgnbd.version

    board = jobs.compare(cfg, "purchase_intent").table.set_index("model")
    assert board.loc["lightgbm", "gate"] == "does not beat BG/NBD: BG/NBD stays champion"
    low, high = (float(v) for v in board.loc["lightgbm", "vs_bgnbd"].split("[")[1].rstrip("]").split(","))
    assert low < 0 and board.loc["bgnbd", "gate"] == "baseline"

    noise_again = jobs.fit_and_log(cfg, "purchase_intent", "xgboost",
                                   LightGBMClassifier(n_estimators=5, n_jobs=1, calibration="none"), frame, manifest,
                                   ["noise_1"])
    from siyu.tracking import set_alias

    set_alias("purchase_intent", "challenger", noise_again.version, cfg.tracking)
    refused = jobs.promote(cfg, "purchase_intent")
    assert not refused.promoted and refused.difference.low <= 0


def test_the_transaction_only_gate_needs_a_bgnbd_to_compare_with(orders_cfg, tmp_path):
    cfg = orders_cfg.model_copy(update={"tracking": orders_cfg.tracking.model_copy(update={
        "uri": f"sqlite:///{tmp_path}/mlflow.db", "artifact_root": str(tmp_path / "art")})})
    frame, manifest, features = jobs.load_task_data(cfg, "purchase_intent")
    jobs.fit_and_log(cfg, "purchase_intent", "lightgbm", LightGBMClassifier(n_estimators=20, n_jobs=1), frame,
                     manifest, features)
    decision = jobs.promote(cfg, "purchase_intent")
    assert not decision.promoted and "no BG/NBD was judged on them" in decision.reason
    assert version_by_alias("purchase_intent", "champion", cfg.tracking) is None


def _orders_with_btyd_summaries(cfg, rng):
    """The toy purchase-intent rows plus the BTYD summary columns of BG/NBD customers (enough
    repeat buyers for the boosters to fit BG/NBD on), written as `cfg`'s training set."""
    frame = toy_trainset("purchase_intent", n_users=300, n_cutoffs=4, rng=rng)
    T = rng.uniform(30, 300, len(frame))
    x, t_x = btyd.simulate_bgnbd(btyd.BGNBDParams(r=0.8, alpha=20.0, a=0.6, b=2.5), T, rng)
    frame = frame.assign(btyd_x=x, btyd_t_x_days=t_x, btyd_T_days=T, btyd_spend_mean=rng.gamma(5.0, 20.0, len(frame)))
    directory = cfg.paths.trainsets_dir / "purchase_intent"
    directory.mkdir(parents=True)
    frame.to_parquet(directory / "trainset.parquet")
    manifest = toy_manifest(frame, "purchase_intent") | {"warnings": ["purchase_intent: the 7-day horizon leaves 2 of "
                                                                      "the 8 training cutoffs asked for"]}
    (directory / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def test_on_orders_alone_the_boosters_read_the_btyd_outputs_and_carry_them_to_scoring(orders_cfg, tmp_path):
    cfg = orders_cfg.model_copy(update={
        "paths": orders_cfg.paths.model_copy(update={"work": str(tmp_path / "work")}),
        "tracking": orders_cfg.tracking.model_copy(update={"uri": f"sqlite:///{tmp_path}/mlflow.db",
                                                           "artifact_root": str(tmp_path / "art")})})
    _orders_with_btyd_summaries(cfg, np.random.default_rng(6))
    trained = jobs.train(cfg, "purchase_intent", "lightgbm")
    assert trained.warnings == ("purchase_intent: the 7-day horizon leaves 2 of the 8 training cutoffs asked for",)
    result = trained.results[0]
    horizon = cfg.task("purchase_intent").horizon_days
    # what scoring loads: the registered version, its fitted BTYD parameters inside
    champion = load_champion("purchase_intent", cfg.tracking, version=result.version)
    model = champion.estimator
    assert model.btyd_horizon_days == horizon and model.btyd_ is not None and model.btyd_.horizon_days == horizon
    frame, _, features = jobs.load_task_data(cfg, "purchase_intent")
    X, _ = jobs._split(frame, features, "test")
    assert {"btyd_p_alive", f"btyd_expected_{horizon}d"} <= set(model.model_input(X[champion.feature_names]).columns)
    logged = load_test_scores(result.run_id, cfg.tracking)
    np.testing.assert_allclose(model.predict_score(X[champion.feature_names]), logged["score"], rtol=1e-12)


def test_btyd_features_are_the_default_on_orders_alone_and_opt_in_elsewhere(orders_cfg, cfg):
    manifest = {}
    assert jobs._new_model(orders_cfg, "purchase_intent", "xgboost", manifest).btyd_horizon_days == 7
    assert jobs._new_model(orders_cfg, "ltv", "twopart", manifest).btyd_horizon_days == 90
    off = orders_cfg.model_copy(update={"training": orders_cfg.training.model_copy(update={"btyd_features": "off"})})
    assert jobs._new_model(off, "purchase_intent", "lightgbm", manifest).btyd_horizon_days is None
    with_visits = orders_cfg.model_copy(update={"dataset": orders_cfg.dataset.model_copy(update={
        "roles": EventRoles(purchase=("purchase",), interaction=("visit",))})})
    assert jobs._new_model(with_visits, "purchase_intent", "lightgbm", manifest).btyd_horizon_days is None
    opted_in = with_visits.model_copy(update={"training": with_visits.training.model_copy(update={"btyd_features": "on"})})
    assert jobs._new_model(opted_in, "purchase_intent", "lightgbm", manifest).btyd_horizon_days == 7
    assert jobs._new_model(cfg, "churn", "lightgbm", manifest).btyd_horizon_days is None  # no roles: not orders


def test_uplift_oracles_give_every_treatment_a_column_even_without_its_effects():
    """A world with effects for one treatment of two: both oracle rows rank by a (rows, 2) matrix,
    0 for the treatment it has no effects for, on the rows whose known effects are all there."""
    truth = pd.DataFrame({"user_id": ["u1", "u2", "u3"], "tau__a": [0.1, np.nan, 0.3],
                          "tau_observable__a": [0.2, 0.1, 0.05]})
    oracles = jobs._uplift_oracle_rows(truth, ("a", "b"))
    (rows, tau), (rows_obs, tau_obs) = oracles["oracle"], oracles["oracle_observable"]
    assert list(rows["user_id"]) == ["u1", "u3"] and tau.tolist() == [[0.1, 0.0], [0.3, 0.0]]
    assert len(rows_obs) == 3 and tau_obs[:, 1].tolist() == [0.0, 0.0, 0.0]


def test_seen_test_cutoffs_are_those_whose_label_windows_a_fit_read():
    theirs = {"horizon_days": 30, "cutoffs": {"train": ["2025-01-06"], "valid": ["2025-03-03"], "test": ["2025-05-05"]}}
    ours = {"horizon_days": 30, "cutoffs": {"test": ["2025-03-31", "2025-04-02", "2025-06-02"]}}
    # 2025-03-03's window runs to 2025-04-01 (exclusive 04-02): 03-31 overlaps it, 04-02 does not.
    assert jobs.seen_test_cutoffs(theirs, ours) == ["2025-03-31"]
    assert jobs.seen_test_cutoffs({}, ours) == []


def test_a_champion_fitted_on_what_is_test_now_is_not_the_yardstick(tmp_path):
    """After a training set is rebuilt with another split, the champion's refit may have read
    the outcomes of today's test rows: its test score would flatter it. It is judged through a
    refit of its model on the current training set, and without one the gate says how to get it."""
    previous = mlflow.get_tracking_uri()
    try:
        cfg = _project(tmp_path)
        frame, manifest, _ = jobs.load_task_data(cfg, "churn")
        old_split = {**manifest, "cutoffs": {"train": manifest["cutoffs"]["test"], "valid": [], "test": []}}
        model = LightGBMClassifier(n_estimators=20, n_jobs=1, calibration="none")
        jobs.fit_and_log(cfg, "churn", "lightgbm", model, frame, old_split, ["days_since_last_activity", "purchase_count_90d"])
        assert jobs.promote(cfg, "churn").promoted  # the first champion
        jobs.fit_and_log(cfg, "churn", "logistic_like", LightGBMClassifier(n_estimators=20, n_jobs=1),
                         frame, manifest, ["noise_0"])
        decision = jobs.promote(cfg, "churn")
        assert not decision.promoted
        assert "was fitted on the outcomes of test cutoffs now" in decision.reason
        assert "siyu train --task churn --model lightgbm" in decision.reason
    finally:
        mlflow.set_tracking_uri(previous)
