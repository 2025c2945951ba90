"""The report job end to end on a tiny project: real tag store, features file, feature specs;
the champion is a real LightGBM booster behind the `load_champion` seam (MLflow not needed)."""

import datetime as dt

import lightgbm as lgb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import yaml
from typer.testing import CliRunner

import siyu.tracking
import siyu.tracking.registry
from siyu.config import (
    DatasetConfig,
    EventRoles,
    PathsConfig,
    ScoringConfig,
    SiyuConfig,
    SourceConfig,
)
from siyu.features.parse import parse_feature_specs
from siyu.io.tagstore import open_tag_store
from siyu.jobs.reporting import (
    ReportInputsMissing,
    explain_user,
    features_at,
    write_report,
    write_report_files,
)
from siyu.scoring.tags import TAG_HISTORY_SCHEMA
from siyu.tracking.registry import Champion, VersionInfo

AS_OF = dt.date(2026, 3, 2)
SPECS = {"features": [{"family": "recency", "role": ["activity", "purchase"]},
                      {"family": "window", "agg": "count", "role": "interaction", "days": [30]},
                      {"family": "window", "agg": "sum", "role": "purchase", "days": [90]},
                      {"family": "lifecycle"}]}
FEATURES = ["days_since_last_activity", "days_since_last_purchase", "interaction_count_30d",
            "purchase_amount_sum_90d", "lifecycle_stage"]
STAGES = ["new", "active", "silent", "churned"]
PII = ["李雷", "13912345678"]


class Booster:
    """A fitted LightGBM churn model with siyu's tree-model interface."""

    def __init__(self, X: pd.DataFrame, y: np.ndarray) -> None:
        params = {"objective": "binary", "num_leaves": 8, "min_data_in_leaf": 5, "verbose": -1, "num_threads": 1}
        self.tree_model_ = lgb.train(params, lgb.Dataset(X, y), 20)

    def model_input(self, X):
        return X[FEATURES]

    def margin(self, X):
        return self.tree_model_.predict(self.model_input(X), raw_score=True)

    def predict_score(self, X):
        return 1 / (1 + np.exp(-self.margin(X)))


def _users(n: int, rng: np.random.Generator) -> pd.DataFrame:
    activity = rng.exponential(25, n).round()
    return pd.DataFrame({
        "user_id": [f"u{i:04d}" for i in range(n)],
        "cutoff": pd.Timestamp(AS_OF),
        "days_since_last_activity": activity,
        "days_since_last_purchase": np.where(rng.random(n) < 0.3, np.nan, activity + rng.exponential(30, n).round()),
        "interaction_count_30d": rng.poisson(3, n).astype(float),
        "purchase_amount_sum_90d": rng.gamma(1.0, 400, n).round(2),
        "lifecycle_stage": pd.Categorical(np.select([activity < 30, activity < 90], ["active", "silent"], "churned"),
                                          categories=STAGES),
        "name": PII[0], "phone": PII[1],  # PII in the inputs: must never reach the report
    })


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(3)
    users = _users(300, rng)
    y = (rng.random(len(users)) < 1 / (1 + np.exp(-(users["days_since_last_activity"] - 25) / 10))).astype(int)
    model = Booster(users[FEATURES], y)
    (tmp_path / "features.yaml").write_text(yaml.safe_dump(SPECS), encoding="utf-8")
    (tmp_path / "work" / "features").mkdir(parents=True)
    users.to_parquet(tmp_path / "work" / "features" / f"features_{AS_OF}.parquet")
    cfg = SiyuConfig(dataset=DatasetConfig(name="tiny", events=SourceConfig(path="events"), roles=EventRoles()),
                     feature_specs_path=str(tmp_path / "features.yaml"), feature_specs=SPECS, paths=PathsConfig(work=str(tmp_path / "work")),
                     scoring=ScoringConfig(tag_store_url=f"duckdb:///{tmp_path / 'tags.duckdb'}"))
    _publish(cfg, users, model.predict_score(users))
    champion = Champion(estimator=model, feature_names=FEATURES, model_name="siyu-churn", model_version="4",
                        run_id="run42", reference_profile={}, model="lightgbm")
    def load_champion(task, tracking_cfg, version=None):
        assert version == "4"  # the version that published the tags, whatever holds the alias now
        return champion

    monkeypatch.setattr(siyu.tracking, "load_champion", load_champion)
    monkeypatch.setattr(siyu.tracking.registry, "list_versions", lambda task, cfg: [
        VersionInfo("siyu-churn", "5", "run43", "xgboost", {}, {"test_auc": 0.9}, ("champion",)),
        VersionInfo("siyu-churn", "4", "run42", "lightgbm", {}, {"test_auc": 0.8312, "valid_auc": 0.85}, ())])
    cfg.paths.reports_dir.mkdir(parents=True)
    pd.DataFrame({"model": ["lightgbm", "rule", "oracle"], "test_auc": [0.83, 0.7, 0.9]}).to_csv(
        cfg.paths.reports_dir / "leaderboard_churn.csv", index=False)
    (tmp_path / "siyu.yaml").write_text(yaml.safe_dump(cfg.model_dump(mode="json")), encoding="utf-8")
    return cfg, users


def _publish(cfg: SiyuConfig, users: pd.DataFrame, scores: np.ndarray, *, extra: pd.DataFrame | None = None,
             run: str = "s1") -> None:
    """A scoring run's tags: churn_risk (none where `scores` is NaN), lifecycle_stage, `extra` rows."""
    band = np.select([scores >= 0.5, scores >= 0.2], ["high", "medium"], "low")
    scored = ~np.isnan(scores)
    n = len(users)
    rows = pd.concat([pd.DataFrame({
        "user_id": np.concatenate([users["user_id"][scored], users["user_id"]]),
        "tag": ["churn_risk"] * int(scored.sum()) + ["lifecycle_stage"] * n,
        "value": np.concatenate([band[scored], users["lifecycle_stage"].astype(str)]),
        "score": np.concatenate([scores[scored], np.full(n, np.nan)]),
    }), extra])
    rows = rows.assign(model="siyu-churn", model_version="4", run_id=run, as_of=AS_OF,
                       computed_at=dt.datetime(2026, 3, 2, 6, 0))
    store = open_tag_store(cfg.scoring.tag_store_url)
    started = dt.datetime(2026, 3, 2, 5, 0)
    store.begin_run(run, AS_OF, started, run_key=f"k{run}", model_versions={"churn": "4"}, forced=False)
    with store.locked(run, AS_OF, started):
        store.publish(run, pa.Table.from_pandas(rows, schema=TAG_HISTORY_SCHEMA, preserve_index=False),
                      finished_at=dt.datetime(2026, 3, 2, 6, 0), counts={}, timings={})
    store.close()


def test_write_report_writes_html_and_model_card_without_pii(project):
    cfg, users = project
    files = write_report_files(cfg, "churn", "zh")
    assert files.html == cfg.paths.reports_dir / "churn_report_zh.html"
    assert files.model_card == cfg.paths.reports_dir / "churn_model_card_zh.md"
    html = files.html.read_text(encoding="utf-8")
    card = files.model_card.read_text(encoding="utf-8")
    card_html = files.model_card_html.read_text(encoding="utf-8")
    assert files.model_card_html == cfg.paths.reports_dir / "churn_model_card_zh.html"
    assert files.users == len(users) and files.as_of == str(AS_OF)
    for words in ("流失风险", "沉默用户", "距最近一次活跃行为的天数"):
        assert words in html
    for words in ("0.8312", "oracle", "run42"):
        assert words in card_html and words not in html  # metrics live on the data scientists' page
    assert "valid_auc" not in card_html  # held-out metrics only
    for text in (html, card, card_html):
        assert not any(p in text for p in PII)


def test_write_report_language_from_config_or_argument(project):
    cfg, _ = project
    zh = write_report(cfg, "churn", "zh")
    html = write_report(cfg, "churn", "en").read_text(encoding="utf-8")
    assert "What drives each band" in html and "Days since the last activity events" in html
    assert "流失风险" in zh.read_text(encoding="utf-8")  # the English run wrote its own file


def test_explain_user_gives_sentences_from_the_catalogue(project):
    cfg, users = project
    riskiest = users.loc[users["days_since_last_activity"].idxmax(), "user_id"]
    why = explain_user(cfg, "churn", riskiest, "en")
    reasons = why.reasons
    assert why.source == "model" and why.band == "high"
    assert 1 <= len(reasons) <= 3
    assert reasons[0].startswith("Days since the last activity events: ")
    assert not any(f in " ".join(reasons) for f in FEATURES)


def test_explain_reads_one_users_feature_row_and_tags(project, monkeypatch):
    cfg, users = project
    user = users["user_id"].iloc[7]
    row = features_at(cfg, str(AS_OF), FEATURES, parse_feature_specs(SPECS), user_id=user)
    assert row["user_id"].tolist() == [user]
    pd.testing.assert_frame_equal(row.reset_index(drop=True),
                                  users.loc[[7], ["user_id", *FEATURES]].reset_index(drop=True), check_dtype=False,
                                  check_categorical=False)
    # neither the whole tag view nor every user's features are read to explain one user
    from siyu.io.tagstore import TagStore

    monkeypatch.setattr(TagStore, "read_current_view", lambda self: pytest.fail("read every user's tags"))
    why = explain_user(cfg, "churn", user, "en")
    assert why.reasons and why.band in {"high", "medium", "low"} and 0 <= why.score <= 1
    assert why.as_of == str(AS_OF)


def test_explain_answers_with_the_reason_tags_scoring_wrote_without_loading_the_model(project, monkeypatch):
    cfg, users = project
    live = explain_user(cfg, "churn", users["user_id"].iloc[5], "zh")
    assert live.source == "model" and live.reasons
    tagged = pd.DataFrame({"user_id": users["user_id"].iloc[5], "tag": ["churn_reason_2", "churn_reason_1"],
                           "value": ["第二条", "第一条"]})
    _publish(cfg, users, np.full(len(users), 0.9), extra=tagged, run="s2")
    monkeypatch.setattr(siyu.tracking, "load_champion", lambda *a, **k: pytest.fail("loaded the champion"))
    why = explain_user(cfg, "churn", users["user_id"].iloc[5], "zh")
    assert (why.source, why.reasons, why.band, why.score) == ("tags", ("第一条", "第二条"), "high", 0.9)
    with pytest.raises(pytest.fail.Exception, match="loaded the champion"):  # tags hold zh words only
        explain_user(cfg, "churn", users["user_id"].iloc[5], "en")
    english = cfg.model_copy(update={"scoring": cfg.scoring.model_copy(update={"lang": "en"})})
    with pytest.raises(pytest.fail.Exception, match="loaded the champion"):  # the config changed since scoring
        explain_user(english, "churn", users["user_id"].iloc[5])


def test_explain_a_tagged_user_missing_from_the_features_names_the_command(project):
    cfg, users = project
    ghost = pd.DataFrame({"user_id": "u9999", "tag": ["churn_risk"], "value": ["high"], "score": [0.7]})
    _publish(cfg, users, np.full(len(users), 0.3), extra=ghost, run="s2")
    with pytest.raises(KeyError, match="tagged as of 2026-03-02 but not in the features of that day; run `siyu score`"):
        explain_user(cfg, "churn", "u9999", "en")


def test_explain_a_user_outside_the_tasks_population_says_so_instead_of_explaining(project):
    cfg, users = project
    scores = np.where(np.arange(len(users)) == 3, np.nan, 0.4)
    _publish(cfg, users, scores, run="s2")
    with pytest.raises(LookupError, match=r"user 'u0003' has no churn_risk tag: outside the churn population as of "
                                          r"2026-03-02 \(users active within 30 days\); their tags: lifecycle_stage="):
        explain_user(cfg, "churn", "u0003")


def test_explain_unknown_user_is_an_error(project):
    cfg, _ = project
    with pytest.raises(KeyError, match="user 'nobody': not among the 300 users scored as of 2026-03-02"):
        explain_user(cfg, "churn", "nobody")


def test_report_without_a_scoring_run_names_the_command(project, tmp_path):
    cfg, _ = project
    empty = cfg.model_copy(update={"scoring": ScoringConfig(tag_store_url=f"duckdb:///{tmp_path / 'empty.duckdb'}")})
    with pytest.raises(ReportInputsMissing, match="no published scoring run; run `siyu score` first"):
        write_report(empty, "churn")


def test_report_without_features_file_names_the_command(project):
    cfg, _ = project
    for path in (cfg.paths.work_dir / "features").glob("*.parquet"):
        path.unlink()
    with pytest.raises(ReportInputsMissing, match="no clean events .* run `siyu validate` then `siyu features --as-of 2026-03-02`"):
        write_report(cfg, "churn")


def test_cli_report_and_explain(project):
    from siyu.cli.main import app

    cfg, users = project
    runner = CliRunner()
    result = runner.invoke(app, ["report", "--task", "churn", "--lang", "en", "--config", "siyu.yaml"])
    assert result.exit_code == 0, result.output
    assert "churn_report_en.html" in result.output
    user = users["user_id"].iloc[0]
    result = runner.invoke(app, ["explain", "--task", "churn", "--user", user, "--lang", "zh", "--config", "siyu.yaml"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"{user} · churn · ")
    result = runner.invoke(app, ["explain", "--task", "churn", "--user", "nobody", "--config", "siyu.yaml"])
    assert result.exit_code == 1
    assert "not among the 300 users" in result.output
