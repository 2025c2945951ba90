"""The history of changing attributes (`users.history`): checked row by row, rows conserved, the
profile and the feature set read it, and configs that cannot work say so."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from contract_world import AS_OF, GOOD_EVENTS, ROOT, parquet_rows, world_config
from pydantic import ValidationError

from siyu.config import AttributeHistoryConfig, SourceConfig, UsersConfig
from siyu.contract.errors import MissingColumnsError
from siyu.io.workspace import data_profile, feature_set
from siyu.jobs.validate import validate_dataset

GOOD = [
    "u1,member_level,regular,2025-01-01 00:00:00",
    "u1,member_level,gold,2025-01-07 10:00:01",
    "u2,member_level,silver,2025-01-02 00:00:00",
]
BAD = {
    "user_id_missing": ",member_level,gold,2025-01-03 00:00:00",
    "valid_from_unparseable": "u3,member_level,gold,someday",
    "value_missing": "u3,member_level,,2025-01-04 00:00:00",
    "attribute_not_changing": "u3,region,north,2025-01-05 00:00:00",
}


def _with_features(cfg):
    specs = yaml.safe_load((ROOT / "configs" / "features.yaml").read_text(encoding="utf-8"))
    return cfg.model_copy(update={"feature_specs": specs})


def test_bad_rows_go_to_the_rejects_with_their_reason_and_rows_are_conserved(tmp_path: Path) -> None:
    cfg = world_config(tmp_path, GOOD_EVENTS, history=GOOD + list(BAD.values()), max_reject_rate=0.9)
    report = validate_dataset(cfg, as_of=AS_OF).report
    history = report.attribute_history
    assert history is not None and history.rows_in == len(GOOD) + len(BAD)
    assert (history.rows_clean, history.rows_rejected) == (len(GOOD), len(BAD))
    counts = {o.rule: o.count for o in history.outcomes}
    assert counts == dict.fromkeys(BAD, 1)
    rejects = parquet_rows(cfg.paths.rejects_dir / "attribute_history.parquet")
    assert sorted(r["reject_reason"] for r in rejects) == sorted(BAD)
    assert all(isinstance(r["source_row"], int) for r in rejects)
    assert {r["value"] for r in rejects} >= {"gold", "north"}  # the source text is kept
    clean = parquet_rows(cfg.paths.clean_history)
    assert [(r["user_id"], r["value"]) for r in clean] == [("u1", "regular"), ("u1", "gold"), ("u2", "silver")]
    assert report.to_dict()["attribute_history"]["reject_rate"] == pytest.approx(len(BAD) / history.rows_in)


def test_the_profile_and_the_feature_set_read_the_history(tmp_path: Path) -> None:
    cfg = _with_features(world_config(tmp_path, GOOD_EVENTS, history=GOOD))
    validate_dataset(cfg, as_of=AS_OF)
    profile = data_profile(cfg)
    assert profile.history == {"member_level": 3} and profile.changing == ()
    specs = {s.name: s for s in feature_set(cfg).specs}
    assert specs["member_level"].as_of is True  # read as of each cutoff, not today's value


def test_without_a_history_a_changing_attribute_is_left_out_and_no_stale_history_lingers(tmp_path: Path) -> None:
    cfg = _with_features(world_config(tmp_path, GOOD_EVENTS, history=GOOD))
    validate_dataset(cfg, as_of=AS_OF)
    assert cfg.paths.clean_history.exists()
    users = cfg.dataset.users.model_copy(update={"history": None})
    cfg = cfg.model_copy(update={"dataset": cfg.dataset.model_copy(update={"users": users})})
    validate_dataset(cfg, as_of=AS_OF)
    assert not cfg.paths.clean_history.exists()
    resolved = feature_set(cfg)
    assert "member_level" not in {s.name for s in resolved.specs}
    assert any(o.name == "member_level" and "leak" in o.reason for o in resolved.omitted)


def test_a_history_missing_a_column_names_it(tmp_path: Path) -> None:
    cfg = world_config(tmp_path, GOOD_EVENTS, history=GOOD)
    users = cfg.dataset.users
    history = users.history.model_copy(update={"valid_from": "changed_at"})
    cfg = cfg.model_copy(update={"dataset": cfg.dataset.model_copy(
        update={"users": users.model_copy(update={"history": history})})})
    with pytest.raises(MissingColumnsError, match=r"changed_at.*valid_from"):
        validate_dataset(cfg, as_of=AS_OF)


def test_a_history_needs_a_changing_attribute() -> None:
    with pytest.raises(ValidationError, match="users.history: no attribute is declared under users.changing"):
        UsersConfig(source=SourceConfig(path="u.parquet"), attributes=("member_level",),
                    history=AttributeHistoryConfig(source=SourceConfig(path="h.parquet")))


def test_a_history_past_the_reject_threshold_replaces_nothing(tmp_path: Path) -> None:
    from siyu.contract.errors import ValidationFailed

    cfg = world_config(tmp_path, GOOD_EVENTS, history=GOOD)
    validate_dataset(cfg, as_of=AS_OF)
    before = {p: p.stat().st_mtime_ns for p in (cfg.paths.clean_history, *cfg.paths.clean_events.iterdir())}
    bad = world_config(tmp_path, GOOD_EVENTS, history=GOOD + list(BAD.values()))
    with pytest.raises(ValidationFailed, match="attribute_history reject rate"):
        validate_dataset(bad, as_of=AS_OF)
    assert {p: p.stat().st_mtime_ns for p in before} == before  # the previous clean files stay
