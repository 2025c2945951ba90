"""The scoring job end to end on a real DuckDB tag store with tiny real models."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scoring_fixtures import TinyChampion, make_cfg, make_deps, make_features

from siyu.io.tagstore import TagStoreError, TagStoreLocked, open_tag_store
from siyu.jobs.scoring import assert_no_pii, default_as_of, export_tags, rollback, score
from siyu.scoring import GuardFailed, quantile_rank

AS_OF = dt.date(2026, 3, 2)
NOW = dt.datetime(2026, 3, 2, 2, 0)


def _history_rows(cfg) -> int:
    store = open_tag_store(cfg.scoring.tag_store_url)
    try:
        return sum(store.read_long(r.run_id).num_rows for r in store.runs())
    finally:
        store.close()


def _current(cfg) -> pd.DataFrame:
    store = open_tag_store(cfg.scoring.tag_store_url)
    try:
        return store.read_current_view().sort_values(["user_id", "tag"], ignore_index=True)
    finally:
        store.close()


def _runs(cfg):
    store = open_tag_store(cfg.scoring.tag_store_url)
    try:
        return {r.run_id: r for r in store.runs()}
    finally:
        store.close()


def test_first_run_publishes_every_users_tags_with_scores(cfg, champions, rng):
    features = make_features(300, rng)
    summary = score(cfg, AS_OF, deps=make_deps(features, champions), now=NOW, run_id="r1")
    assert summary.status == "published" and summary.n_users == 300
    assert summary.n_rows == 300 * 5  # 3 model bands + 2 rule tags, every user has all five
    assert sum(summary.counts["churn_risk"].values()) == 300
    assert set(summary.counts["ltv_tier"]) <= {"A", "B", "C", "D"}
    current = _current(cfg)
    churn = current[current["tag"] == "churn_risk"].set_index("user_id")
    expected = champions["churn"].predict_score(features)
    assert np.allclose(churn.loc[features["user_id"], "score"].to_numpy(), expected)  # raw score kept
    assert set(churn["model_version"]) == {"1"} and set(churn["model"]) == {"siyu-churn"}
    run = _runs(cfg)["r1"]
    assert run.status == "published" and run.model_versions["ltv"]["version"] == "1"
    assert {"features", "predict", "write"} <= set(run.timings)


def test_rerunning_the_same_as_of_and_models_is_idempotent(cfg, champions, rng):
    features = make_features(200, rng)
    deps = make_deps(features, champions)
    score(cfg, AS_OF, deps=deps, now=NOW, run_id="r1")
    before, rows = _current(cfg), _history_rows(cfg)
    again = score(cfg, AS_OF, deps=deps, now=NOW + dt.timedelta(hours=1), run_id="r2")
    assert again.status == "unchanged" and "already published as run r1" in again.message
    assert _history_rows(cfg) == rows
    pd.testing.assert_frame_equal(_current(cfg), before)
    assert _runs(cfg)["r2"].status == "unchanged"
    # a new champion version is a different run
    newer = {t: replace(c, model_version="2") for t, c in champions.items()}
    assert score(cfg, AS_OF, deps=make_deps(features, newer), now=NOW, run_id="r3").status == "published"


def test_hysteresis_holds_users_near_an_edge_across_runs(tmp_path, champions, rng):
    cfg = make_cfg(tmp_path, guards={"max_changed_share": 1.0, "psi_fail": 10, "score_shift_fail": 10})
    features = make_features(400, rng)
    score(cfg, AS_OF, deps=make_deps(features, champions), now=NOW, run_id="r1")
    first = _current(cfg).query("tag == 'churn_risk'").set_index("user_id")["value"]
    # a champion whose scores move by less than the margin: nobody may change band
    nudged = {**champions, "churn": _Shifted(champions["churn"], 0.015)}
    score(cfg, AS_OF + dt.timedelta(days=7), deps=make_deps(features, nudged), now=NOW, run_id="r2")
    second = _current(cfg).query("tag == 'churn_risk'").set_index("user_id")["value"]
    assert (second == first.reindex(second.index)).all()
    plain = pd.cut(second.index.map(dict(zip(features["user_id"], nudged["churn"].predict_score(features), strict=True))),
                   [-np.inf, 0.2, 0.5, np.inf], right=False, labels=["low", "medium", "high"])
    assert (plain.astype(str) != second.to_numpy()).any(), "some users should have been held by hysteresis"


class _Shifted(TinyChampion):
    def __init__(self, base: TinyChampion, delta: float) -> None:
        super().__init__(base.estimator, base.feature_names, base.model_name, "1b", base.run_id,
                         base.reference_profile)
        self.delta = delta

    def predict_score(self, X):
        return np.clip(super().predict_score(X) + self.delta, 0, 1)


def test_a_drift_guard_stops_the_run_and_force_publishes_it_on_record(cfg, champions, rng):
    score(cfg, AS_OF, deps=make_deps(make_features(300, rng), champions), now=NOW, run_id="r1")
    before = _current(cfg)
    drifted = make_deps(make_features(300, rng, shift=1.5), champions)
    with pytest.raises(GuardFailed, match=r"(?s)run r2 stopped.*feature_drift\[churn\]: FAIL value .* "
                                          r"\(threshold 0.1\); top offenders: .*=") as info:
        score(cfg, AS_OF + dt.timedelta(days=7), deps=drifted, now=NOW, run_id="r2")
    assert any(r.guard == "feature_drift[churn]" and r.status == "fail" for r in info.value.results)
    pd.testing.assert_frame_equal(_current(cfg), before)
    blocked = _runs(cfg)["r2"]
    assert blocked.status == "blocked" and "feature_drift[churn]" in blocked.message
    assert blocked.message.startswith("scoring run r2 stopped")  # the saved message names its run
    forced = score(cfg, AS_OF + dt.timedelta(days=7), True, deps=drifted, now=NOW, run_id="r3")
    assert forced.status == "published" and forced.forced
    run = _runs(cfg)["r3"]
    assert run.forced and "forced past failed guards: feature_drift[churn]" in run.message
    assert any(g["status"] == "fail" for g in run.guards)


def test_the_changed_share_guard_names_the_moves(tmp_path, champions, rng):
    cfg = make_cfg(tmp_path, guards={"psi_fail": 10, "score_shift_fail": 10, "max_changed_share": 0.3})
    features = make_features(300, rng)
    score(cfg, AS_OF, deps=make_deps(features, champions), now=NOW, run_id="r1")
    flipped = {**champions, "churn": _Flipped(champions["churn"])}
    with pytest.raises(GuardFailed, match=r"changed_share\[churn_risk\]: FAIL value 0\.\d+ \(threshold 0.3\); "
                                          r"top offenders: \w+ -> \w+: \d+"):
        score(cfg, AS_OF + dt.timedelta(days=7), deps=make_deps(features, flipped), now=NOW, run_id="r2")


class _Flipped(_Shifted):
    def __init__(self, base: TinyChampion) -> None:
        super().__init__(base, 0.0)

    def predict_score(self, X):
        return 1 - super().predict_score(X)


def test_missing_model_features_stop_the_run_even_with_force(cfg, champions, rng):
    features = make_features(50, rng).drop(columns=["spend_sum_90d"])
    with pytest.raises(GuardFailed, match=r"schema\[churn\]: FAIL .*spend_sum_90d \(missing\)"):
        score(cfg, AS_OF, True, deps=make_deps(features, champions), now=NOW, run_id="r1")
    assert _runs(cfg)["r1"].status == "blocked"


def test_a_failure_while_writing_marks_the_run_failed_and_keeps_the_previous_tags(cfg, champions, rng):
    features = make_features(100, rng)
    score(cfg, AS_OF, deps=make_deps(features, champions), now=NOW, run_id="r1")
    before = _current(cfg)

    def crash(index: int, rows: int) -> None:
        raise OSError("connection reset while writing")

    deps = make_deps(features, champions, on_chunk=crash)
    with pytest.raises(OSError, match="connection reset"):
        score(cfg, AS_OF + dt.timedelta(days=7), deps=deps, now=NOW, run_id="r2")
    pd.testing.assert_frame_equal(_current(cfg), before)
    failed = _runs(cfg)["r2"]
    assert failed.status == "failed" and "OSError: connection reset" in failed.message


def test_a_run_cannot_start_while_another_holds_the_lock(cfg, champions, rng):
    holder = open_tag_store(cfg.scoring.tag_store_url)
    holder.acquire_lock("other-run", AS_OF, dt.datetime(2026, 3, 2, 1, 30))
    with pytest.raises(TagStoreLocked, match="locked by scoring run other-run .*started 2026-03-02 01:30:00"):
        score(cfg, AS_OF, deps=make_deps(make_features(20, rng), champions), now=NOW, run_id="r1")
    holder.release_lock("other-run")
    holder.close()


def test_rollback_through_the_job_restores_the_previous_tags(tmp_path, champions, rng):
    cfg = make_cfg(tmp_path, guards={"psi_fail": 10, "score_shift_fail": 10, "max_changed_share": 1.0})
    score(cfg, AS_OF, deps=make_deps(make_features(100, rng), champions), now=NOW, run_id="r1")
    before = _current(cfg)
    score(cfg, AS_OF + dt.timedelta(days=7), deps=make_deps(make_features(100, rng, shift=1.0), champions),
          now=NOW, run_id="r2")
    assert not _current(cfg).equals(before)
    assert rollback(cfg, "r2", now=NOW).run_id == "r1"
    pd.testing.assert_frame_equal(_current(cfg), before)


def test_reason_tags_for_the_risky_users_only(cfg, champions, rng):
    features = make_features(120, rng)
    seen = {}

    def reasons_for(cfg_, specs):
        def reasons(task, champion, X, *, on_rows=None):
            seen[task] = len(X)
            return pd.DataFrame({"reason_1": [f"{task} driver"] * len(X), "reason_2": [""] * len(X)}, index=X.index)
        return reasons

    summary = score(cfg, AS_OF, deps=make_deps(features, champions, reasons=reasons_for), now=NOW, run_id="r1")
    risky = summary.counts["churn_risk"].get("high", 0)  # reason_bands default: high only
    assert seen == {"churn": risky} and summary.counts["churn_reason_1"] == {"tagged": risky}
    assert "churn_reason_2" not in summary.counts or summary.counts["churn_reason_2"] == {"tagged": 0}


def test_export_one_row_per_user_without_pii_and_the_changes(tmp_path, champions, rng):
    cfg = make_cfg(tmp_path, guards={"psi_fail": 10, "score_shift_fail": 10, "max_changed_share": 1.0})
    with pytest.raises(TagStoreError, match="no published scoring run"):
        export_tags(cfg, "csv")
    features = make_features(80, rng)
    score(cfg, AS_OF, deps=make_deps(features, champions), now=NOW, run_id="r1")
    path = export_tags(cfg, "csv")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # Excel on Chinese Windows needs the mark
    frame = pd.read_csv(path, dtype={"user_id": str, "model_version_churn": str}, encoding="utf-8-sig")
    assert len(frame) == 80 and frame["user_id"].is_unique
    assert list(frame.columns) == ["user_id", "churn_risk", "churn_risk_score", "purchase_intent",
                                   "purchase_intent_score", "ltv_tier", "ltv_tier_score", "lifecycle_stage",
                                   "rfm_segment", "as_of", "run_id", "model_version_churn",
                                   "model_version_purchase_intent", "model_version_ltv"]
    assert set(frame["as_of"]) == {AS_OF.isoformat()} and set(frame["run_id"]) == {"r1"}
    assert set(frame["model_version_churn"]) == {"1"}
    assert not {"name", "phone", "wechat_nick"} & set(frame.columns)
    parquet = pd.read_parquet(export_tags(cfg, "parquet"))
    assert parquet.shape == frame.shape
    with pytest.raises(TagStoreError, match="only one published run"):
        export_tags(cfg, "csv", changes_only=True)
    score(cfg, AS_OF + dt.timedelta(days=7), deps=make_deps(make_features(80, rng, shift=0.5), champions),
          now=NOW, run_id="r2")
    changes = pd.read_csv(export_tags(cfg, "csv", changes_only=True), encoding="utf-8-sig")
    assert list(changes.columns) == ["user_id", "tag", "old", "new", "as_of", "run_id", "previous_run_id"]
    assert len(changes) > 0 and set(changes["run_id"]) == {"r2"} and set(changes["previous_run_id"]) == {"r1"}
    assert (changes["old"] != changes["new"]).all()
    with pytest.raises(ValueError, match="expected csv or parquet"):
        export_tags(cfg, "xlsx")
    plain = make_cfg(tmp_path, csv_bom=False, guards={"psi_fail": 10, "score_shift_fail": 10, "max_changed_share": 1.0})
    assert export_tags(plain, "csv").read_bytes().startswith(b'"user_id"')


def test_pii_columns_are_refused(cfg):
    assert_no_pii(["user_id", "churn_risk"], cfg)
    with pytest.raises(ValueError, match=r"PII column\(s\) \['phone', 'wechat_nick'\]"):
        assert_no_pii(["user_id", "phone", "wechat_nick"], cfg)


def test_default_as_of_is_the_day_after_the_newest_event():
    assert default_as_of(dt.datetime(2026, 3, 1, 23, 59)) == dt.date(2026, 3, 2)
    assert default_as_of(dt.datetime(2026, 3, 1, 0, 0)) == dt.date(2026, 3, 2)


def test_quantile_tiers_follow_ranks_of_the_ltv_score(cfg, champions, rng):
    features = make_features(500, rng)
    score(cfg, AS_OF, deps=make_deps(features, champions), now=NOW, run_id="r1")
    tiers = _current(cfg).query("tag == 'ltv_tier'").set_index("user_id")
    ranks = quantile_rank(champions["ltv"].predict_score(features))
    top = features["user_id"][ranks >= 0.9]
    assert (tiers.loc[top, "value"] == "A").all()


def test_an_empty_feature_table_publishes_nothing_even_forced(cfg, champions, rng):
    empty = make_features(10, rng).iloc[0:0]
    with pytest.raises(GuardFailed, match=r"min_users: FAIL value 0 \(threshold 1\)"):
        score(cfg, AS_OF, True, deps=make_deps(empty, champions), now=NOW, run_id="r1")
    assert _runs(cfg)["r1"].status == "blocked"


def test_default_as_of_needs_validated_events(cfg):
    from siyu.jobs.scoring import _newest_event

    with pytest.raises(ValueError, match="no validated events .*run `siyu validate` first or pass --as-of"):
        _newest_event(cfg)


def test_newest_event_is_read_from_the_clean_events(cfg):
    from siyu.jobs.scoring import _newest_event

    cfg.paths.clean_events.mkdir(parents=True)
    pd.DataFrame({"user_id": ["a", "b"], "ts": pd.to_datetime(["2026-02-27 10:00", "2026-03-01 23:59"])}).to_parquet(
        cfg.paths.clean_events / "part-0.parquet")
    assert default_as_of(_newest_event(cfg)) == dt.date(2026, 3, 2)


def test_the_segment_tag_is_published_with_the_others(cfg, champions, rng):
    from siyu.segments import SegmentModel

    features = make_features(400, rng)
    numeric = ["days_since_last_interaction", "interaction_count_30d", "spend_sum_90d"]
    model = SegmentModel({"recency": numeric[0], "engagement": numeric[1], "monetary": numeric[2]},
                         k_min=3, k_max=4, silhouette_sample=300, n_init=2).fit(features[numeric])
    segmenter = replace(champions["churn"], estimator=model, model_name="siyu-segments", model_version="7")
    deps = make_deps(features, champions, load_segmenter=lambda cfg: segmenter)
    summary = score(cfg, AS_OF, deps=deps, now=NOW, run_id="r1")
    assert sum(summary.counts["segment"].values()) == 400
    assert set(summary.counts["segment"]) == set(model.keys_)
    assert summary.model_versions["segment"]["version"] == "7"
    current = _current(cfg)
    seg = current[current["tag"] == "segment"].set_index("user_id")
    assert (seg.loc[features["user_id"], "value"].to_numpy() == model.predict(features[numeric])).all()
    assert set(seg["model"]) == {"siyu-segments"} and seg["score"].isna().all()
    # a new segmentation version is a new run, not "unchanged"
    newer = replace(segmenter, model_version="8")
    again = score(cfg, AS_OF, deps=make_deps(features, champions, load_segmenter=lambda cfg: newer), now=NOW,
                  run_id="r2")
    assert again.status == "published"


def test_the_export_carries_each_users_next_action(tmp_path, champions, rng):
    from siyu.config import Play, PlaybookConfig

    cfg = make_cfg(tmp_path).model_copy(update={"playbook": PlaybookConfig(plays=(
        Play(when={"churn_risk": "high"}, action_zh="召回", action_en="win back"),))})
    score(cfg, AS_OF, deps=make_deps(make_features(120, rng), champions), now=NOW, run_id="r1")
    frame = pd.read_csv(export_tags(cfg, "csv"), encoding="utf-8-sig", keep_default_na=False)
    assert list(frame.columns).index("next_action") == list(frame.columns).index("as_of") - 1
    high = frame["churn_risk"] == "high"
    assert high.any() and (frame.loc[high, "next_action"] == "召回").all()  # scoring.lang is zh
    assert (frame.loc[~high, "next_action"] == "").all()
