"""Every validation rule, each with a bad fixture: its count, its message, where the rows went."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from contract_world import (
    AS_OF,
    GOOD_CSV_LINES,
    GOOD_EVENTS,
    GOOD_USERS,
    csv_config,
    parquet_rows,
    world_config,
    write_events,
)

from siyu.contract.errors import MissingColumnsError, PiiFeatureError
from siyu.contract.rules import EVENT_RULES
from siyu.jobs.validate import validate_dataset

# rule -> (bad CSV line, expected message, rejected?)
EVENT_CASES = {
    "null_user_id": ("e9,,2025-01-07 10:00:00,msg_open,group,,,,,", r"user_id: 1 rows without a user id; written to .*rejects/events\.parquet", True),
    "null_ts": ("e9,u1,,msg_open,group,,,,,", r"ts: 1 rows without a timestamp", True),
    "ts_unparseable": ("e9,u1,2024-13-01,msg_open,group,,,,,", r"ts: 1 rows unparseable \(e\.g\. '2024-13-01'; expected ISO-8601.*\); written to .*rejects/events\.parquet", True),
    "null_event_type": ("e9,u1,2025-01-07 10:00:00,,group,,,,,", r"event_type: 1 rows without an event type", True),
    "amount_not_numeric": ("e9,u1,2025-01-07 10:00:00,purchase,group,5 yuan,,,,", r"amount: 1 rows not a number \(e\.g\. '5 yuan'\)", True),
    "amount_not_finite": ("e9,u1,2025-01-07 10:00:00,purchase,group,NaN,,,,", r"amount: 1 rows with a non-finite amount \(NaN or infinite, e\.g\. 'NaN'\)", True),
    "amount_out_of_range": ("e9,u1,2025-01-07 10:00:00,purchase,group,2e9,,,,", r"amount: 1 rows beyond the bound \|amount\| <= 1e\+09 \(e\.g\. '2e9'\)", True),
    "ts_after_as_of": ("e9,u1,2031-01-01 00:00:00,msg_open,group,,,,,", r"ts: 1 rows after the as-of time 2025-03-01 00:00:00 \(e\.g\. '2031-01-01 00:00:00'\)", True),
    "purchase_without_amount": ("e9,u1,2025-01-07 10:00:00,purchase,group,,,,,", r"amount: 1 purchase rows without an amount", True),
    "negative_amount": ("e9,u1,2025-01-07 10:00:00,msg_open,group,-3,,,,", r"amount: 1 rows with a negative amount on a non-refund event \(e\.g\. '-3'\)", True),
    "duplicate_event_id": ("e2,u1,2025-01-07 10:00:00,purchase,mini_program,99.5,i1,c1,s2,", r"event_id: 1 duplicate rows \(e\.g\. 'e2'\); the first valid occurrence is kept", True),
    "unknown_event_type": ("e9,u1,2025-01-07 10:00:00,teleport,group,,,,,", r"event_type: 1 rows with an event type not listed under roles \(e\.g\. 'teleport'\); kept with role 'other'", False),
}


def test_every_event_row_rule_has_a_case() -> None:
    row_rules = {r.name for r in EVENT_RULES if r.scope == "row"} - {"quantity_not_numeric"}
    assert row_rules == set(EVENT_CASES)


@pytest.mark.parametrize("rule", sorted(EVENT_CASES))
def test_event_rule_counts_reports_and_routes_the_bad_row(tmp_path: Path, rule: str) -> None:
    line, message, rejected = EVENT_CASES[rule]
    cfg = csv_config(tmp_path, [*GOOD_CSV_LINES, line], max_reject_rate=1.0)
    result = validate_dataset(cfg, as_of=AS_OF)
    events = result.report.events
    outcome = next(o for o in events.outcomes if o.rule == rule)
    assert outcome.count == 1
    assert outcome.examples, "a rule that fires shows example rows"
    assert re.search(message, outcome.message), outcome.message
    others = [o.rule for o in events.outcomes if o.count and o.rule != rule]
    assert others == [], f"only {rule} should fire, also got {others}"
    rejects = parquet_rows(result.rejects_events)
    clean = parquet_rows(result.clean_events)
    assert events.rows_in == len(GOOD_CSV_LINES) + 1 == len(clean) + len(rejects)
    if rejected:
        assert [r["reject_reason"] for r in rejects] == [rule]
        assert rejects[0]["source_row"] == len(GOOD_CSV_LINES) + 2  # line number, header = 1
        assert outcome.examples[0]["source_row"] == rejects[0]["source_row"]
    else:
        assert rejects == [] and len(clean) == len(GOOD_CSV_LINES) + 1


def test_duplicate_keeps_the_first_valid_occurrence(tmp_path: Path) -> None:
    # The first e7 has no user id (rejected for that); the second is the one kept.
    lines = [*GOOD_CSV_LINES, "e7,,2025-01-07 10:00:00,msg_open,group,,,,,",
             "e7,u1,2025-01-07 10:00:00,msg_open,group,,,,,", "e7,u1,2025-01-07 11:00:00,msg_open,group,,,,,"]
    result = validate_dataset(csv_config(tmp_path, lines, max_reject_rate=1.0), as_of=AS_OF)
    kept = [r for r in parquet_rows(result.clean_events) if r["event_id"] == "e7"]
    assert [r["ts"].hour for r in kept] == [10]
    reasons = [r["reject_reason"] for r in parquet_rows(result.rejects_events)]
    assert reasons == ["null_user_id; duplicate_event_id", "duplicate_event_id"]


def test_duplicates_across_parquet_files_keep_the_first_file_s_row(tmp_path: Path) -> None:
    cfg = world_config(tmp_path, GOOD_EVENTS, max_reject_rate=1.0)
    again = ("e2", "u3", "2025-01-11 10:00:00", "msg_open", "group", None, None, None, None, None)
    blank = [("", user, "2025-01-12 10:00:00", "msg_open", "group", None, None, None, None, None) for user in ("u1", "u2")]
    write_events(tmp_path / "world" / "events" / "part-1.parquet", [again, *blank])
    result = validate_dataset(cfg, as_of=AS_OF)
    [reject] = parquet_rows(result.rejects_events)
    assert (reject["reject_reason"], reject["source_row"]) == ("duplicate_event_id", 1)
    assert reject["source_file"].endswith("part-1.parquet")
    clean = parquet_rows(result.clean_events)
    assert [r["user_id"] for r in clean if r["event_id"] == "e2"] == ["u1"]
    assert sum(r["event_id"] is None for r in clean) == 2, "empty ids are no ids, never duplicates"
    assert result.report.events.rows_in == len(clean) + 1 == len(GOOD_EVENTS) + 3


def test_a_row_failing_several_rules_lists_them_all(tmp_path: Path) -> None:
    lines = [*GOOD_CSV_LINES, "e9,,not-a-time,purchase,group,,,,,"]
    result = validate_dataset(csv_config(tmp_path, lines, max_reject_rate=1.0), as_of=AS_OF)
    [reject] = parquet_rows(result.rejects_events)
    assert reject["reject_reason"] == "null_user_id; ts_unparseable; purchase_without_amount"
    assert reject["ts"] == "not-a-time"  # rejects keep the source text


def test_ts_after_as_of_is_skipped_without_as_of(tmp_path: Path) -> None:
    lines = [*GOOD_CSV_LINES, "e9,u1,2031-01-01 00:00:00,msg_open,group,,,,,"]
    result = validate_dataset(csv_config(tmp_path, lines), as_of=None)
    assert "ts_after_as_of" not in {o.rule for o in result.report.events.outcomes}
    assert result.report.events.rows_clean == len(lines)


def test_missing_required_column_fails_before_any_row_naming_it(tmp_path: Path) -> None:
    cfg = world_config(tmp_path, GOOD_EVENTS)
    ds = cfg.dataset.model_copy(update={"columns": cfg.dataset.columns.model_copy(update={"ts": "event_time"})})
    with pytest.raises(MissingColumnsError, match=r"ts: required column 'event_time' not in the source; available columns: event_id, user_id, ts, event_type"):
        validate_dataset(cfg.model_copy(update={"dataset": ds}), as_of=AS_OF)
    assert not (tmp_path / "work" / "rejects").exists()


def test_missing_users_attribute_is_an_error(tmp_path: Path) -> None:
    cfg = world_config(tmp_path, GOOD_EVENTS)
    users = cfg.dataset.users.model_copy(update={"attributes": ("member_level", "vip_tier")})
    ds = cfg.dataset.model_copy(update={"users": users})
    with pytest.raises(MissingColumnsError, match=r"(?s)users source .*vip_tier: required column 'vip_tier'"):
        validate_dataset(cfg.model_copy(update={"dataset": ds}))


def test_missing_optional_column_is_a_warning_and_null(tmp_path: Path) -> None:
    cfg = world_config(tmp_path, GOOD_EVENTS)
    ds = cfg.dataset.model_copy(update={"columns": cfg.dataset.columns.model_copy(update={"category": "cat"})})
    result = validate_dataset(cfg.model_copy(update={"dataset": ds}), as_of=AS_OF)
    [issue] = [o for o in result.report.events.outcomes if o.rule == "missing_optional_column"]
    assert issue.severity == "warning" and issue.count is None
    assert "category: mapped from 'cat', which the source does not have; filled with NULL" in issue.message
    assert all(r["category"] is None for r in parquet_rows(result.clean_events))


@pytest.mark.parametrize("where", ["feature_columns", "users.attributes"])
def test_pii_used_as_a_feature_is_a_config_error(tmp_path: Path, where: str) -> None:
    cfg = world_config(tmp_path, GOOD_EVENTS)
    ds = cfg.dataset
    if where == "feature_columns":
        ds = ds.model_copy(update={"pii": ("phone_number",), "feature_columns": ("phone_number",)})
    else:
        ds = ds.model_copy(update={"users": ds.users.model_copy(update={"attributes": ("member_level", "phone")})})
    column = "phone_number" if where == "feature_columns" else "phone"
    with pytest.raises(PiiFeatureError, match=rf"pii_as_feature.*\n  {column}: declared PII but also offered as a feature \(listed in {where}\)"):
        validate_dataset(cfg.model_copy(update={"dataset": ds}))


# --------------------------------------------------------------------------- users
def _users_case(tmp_path: Path, users: list[tuple], events=None):
    cfg = world_config(tmp_path, events or GOOD_EVENTS, users, max_reject_rate=1.0)
    return validate_dataset(cfg, as_of=AS_OF)


def test_users_null_and_duplicate_ids_are_rejected(tmp_path: Path) -> None:
    users = [*GOOD_USERS, (None, "2025-01-01", "group", None, None, None, "x", "1"),
             ("u1", "2025-02-01", "store", "gold", "east", "25-34", "y", "2")]
    result = _users_case(tmp_path, users)
    report = result.report.users
    found = {o.rule: o for o in report.outcomes}
    assert found["null_user_id"].count == 1 and found["duplicate_user_id"].count == 1
    assert "user_id: 1 duplicate users (e.g. 'u1'); the first valid row is kept" in found["duplicate_user_id"].message
    assert report.rows_in == 5 and report.rows_rejected == 2 and report.rows_clean == 3
    clean = parquet_rows(result.clean_users)
    assert sorted(r["user_id"] for r in clean) == ["u1", "u2", "u3"]
    assert next(r for r in clean if r["user_id"] == "u1")["source_channel"] == "group"  # first kept
    assert len(parquet_rows(result.rejects_users)) == 2


def test_users_without_join_time_get_their_first_event(tmp_path: Path) -> None:
    users = [("u1", None, "group", "gold", "east", "25-34", "张三", "1"), *GOOD_USERS[1:]]
    result = _users_case(tmp_path, users)
    [missing] = [o for o in result.report.users.outcomes if o.rule == "joined_at_missing"]
    assert missing.count == 1 and "set to their first event" in missing.message
    u1 = next(r for r in parquet_rows(result.clean_users) if r["user_id"] == "u1")
    assert u1["joined_at"].isoformat() == "2025-01-06T09:00:00"


def test_users_with_events_but_no_row_are_added_and_warned(tmp_path: Path) -> None:
    events = [*GOOD_EVENTS, ("e9", "u7", "2025-01-11 10:00:00", "msg_open", "app", None, None, None, None, None)]
    result = _users_case(tmp_path, GOOD_USERS, events)
    [unknown] = [o for o in result.report.users.outcomes if o.rule == "unknown_user"]
    assert unknown.count == 1 and "(e.g. 'u7')" in unknown.message
    assert result.report.users.rows_added == 1
    u7 = next(r for r in parquet_rows(result.clean_users) if r["user_id"] == "u7")
    assert u7["source_channel"] == "app" and u7["member_level"] is None


def test_users_joined_at_unparseable(tmp_path: Path) -> None:
    cfg = world_config(tmp_path, GOOD_EVENTS, max_reject_rate=1.0)
    path = tmp_path / "users.csv"
    path.write_text("user_id,joined_at,source_channel,member_level,region,age_band,name,phone\n"
                    "u1,2025-01-01,group,gold,east,25-34,a,1\nu2,yesterday,store,,,,b,2\n", encoding="utf-8")
    users = cfg.dataset.users.model_copy(update={"source": cfg.dataset.users.source.model_copy(update={"path": str(path), "format": "csv"})})
    result = validate_dataset(cfg.model_copy(update={"dataset": cfg.dataset.model_copy(update={"users": users})}))
    [bad] = [o for o in result.report.users.outcomes if o.rule == "joined_at_unparseable"]
    assert bad.count == 1 and "(e.g. 'yesterday'; expected ISO-8601" in bad.message


def test_users_malformed_csv_line_is_rejected(tmp_path: Path) -> None:
    cfg = world_config(tmp_path, GOOD_EVENTS, max_reject_rate=1.0)
    path = tmp_path / "users.csv"
    path.write_text("user_id,joined_at,source_channel,member_level,region,age_band,name,phone\n"
                    "u1,2025-01-01,group,gold,east,25-34,a,1\nu2,2025-01-02\n", encoding="utf-8")
    users = cfg.dataset.users.model_copy(update={"source": cfg.dataset.users.source.model_copy(update={"path": str(path), "format": "csv"})})
    result = validate_dataset(cfg.model_copy(update={"dataset": cfg.dataset.model_copy(update={"users": users})}))
    report = result.report.users
    [bad] = [o for o in report.outcomes if o.rule == "malformed_line"]
    assert bad.count == 1 and "(e.g. 'u2,2025-01-02')" in bad.message
    assert (report.rows_in, report.rows_clean, report.rows_rejected) == (2, 1, 1)
    assert sorted(r["user_id"] for r in parquet_rows(result.clean_users)) == ["u1", "u2", "u3"]  # u2, u3 from events


def test_malformed_csv_lines_are_rejected_with_their_text(tmp_path: Path) -> None:
    lines = [*GOOD_CSV_LINES, "e9,u1,2025-01-07 10:00:00,msg_open,group,,,,,,EXTRA,FIELDS",
             "e10,u1", "e11,u2,2025-01-07 10:00:00,msg_open,group,,,,,"]
    result = validate_dataset(csv_config(tmp_path, lines, max_reject_rate=1.0), as_of=AS_OF)
    events = result.report.events
    [outcome] = [o for o in events.outcomes if o.count]
    assert outcome.rule == "malformed_line" and outcome.count == 2
    assert re.search(r"2 CSV lines do not split into the header's columns \(e\.g\. 'e9,u1,.*EXTRA,FIELDS', 'e10,u1'\)", outcome.message)
    rejects = parquet_rows(result.rejects_events)
    assert [(r["source_row"], r["reject_reason"]) for r in rejects] == [(7, "malformed_line"), (8, "malformed_line")]
    clean = parquet_rows(result.clean_events)
    assert events.rows_in == len(lines) == len(clean) + len(rejects)
    assert "e11" in {r["event_id"] for r in clean}


def test_progress_steps_are_reported_in_order(tmp_path: Path) -> None:
    steps: list[str] = []
    validate_dataset(world_config(tmp_path, GOOD_EVENTS), as_of=AS_OF, on_step=steps.append)
    assert steps == ["opening sources", "looking for duplicate events", "writing rejected rows",
                     "writing clean events", "writing clean users", "profiling the clean data"]
    assert (tmp_path / "work" / "reports" / "profile.json").exists()


def test_a_failed_run_leaves_the_previous_clean_events(tmp_path: Path) -> None:
    from siyu.contract.errors import ValidationFailed

    validate_dataset(csv_config(tmp_path, GOOD_CSV_LINES), as_of=AS_OF)
    before = parquet_rows(tmp_path / "work" / "clean" / "events")
    bad = csv_config(tmp_path, [*GOOD_CSV_LINES, "e9,,2025-01-07 10:00:00,msg_open,group,,,,,"])
    with pytest.raises(ValidationFailed, match=r"events reject rate 16\.67% is above max_reject_rate 1\.00%.*Clean data not written"):
        validate_dataset(bad, as_of=AS_OF)
    assert parquet_rows(tmp_path / "work" / "clean" / "events") == before
    assert len(parquet_rows(tmp_path / "work" / "rejects" / "events.parquet")) == 1
    assert not (tmp_path / "work" / "clean" / ".events.tmp").exists()


def test_unknown_user_share_is_of_the_clean_users_and_never_above_100(tmp_path: Path) -> None:
    strangers = [(f"e{9 + i}", f"x{i}", "2025-01-11 10:00:00", "msg_open", "app", None, None, None, None, None)
                 for i in range(8)]
    result = _users_case(tmp_path, GOOD_USERS[:1], [*GOOD_EVENTS, *strangers])
    [unknown] = [o for o in result.report.users.outcomes if o.rule == "unknown_user"]
    users = result.report.users
    assert unknown.count == users.rows_added and users.rows_added > users.rows_in
    assert 0 < unknown.share <= 1 and unknown.share == pytest.approx(unknown.count / (users.rows_clean + users.rows_added))


def test_a_join_time_the_config_leaves_unmapped_is_no_warning(tmp_path: Path) -> None:
    cfg = world_config(tmp_path, GOOD_EVENTS, GOOD_USERS, max_reject_rate=1.0)
    users = cfg.dataset.users.model_copy(update={"joined_at": None})
    result = validate_dataset(cfg.model_copy(update={"dataset": cfg.dataset.model_copy(update={"users": users})}),
                              as_of=AS_OF)
    assert not [o for o in result.report.users.outcomes if o.rule == "joined_at_missing"]
    u1 = next(r for r in parquet_rows(result.clean_users) if r["user_id"] == "u1")
    assert u1["joined_at"].isoformat() == "2025-01-06T09:00:00"  # the first event, as the config asks


@pytest.mark.parametrize(("column", "rule"), [
    ("contact_phone", "'phone'"), ("member_mobile", "'mobile'"), ("e_mail", "'mail'"), ("wechat_id", "'wechat'"),
    ("user_openid", "'openid'"), ("id_card_no", "'id_card'"), ("手机号", "'手机'"), ("收货地址", "'地址'"),
])
def test_a_column_named_like_personal_data_is_refused_as_a_feature(tmp_path: Path, column: str, rule: str) -> None:
    cfg = world_config(tmp_path, GOOD_EVENTS)
    ds = cfg.dataset.model_copy(update={"feature_columns": (column,)})
    with pytest.raises(PiiFeatureError, match=rf"{column}: offered as a feature \(listed in feature_columns\) "
                                              rf"but its name holds {rule}, which names personal data"):
        validate_dataset(cfg.model_copy(update={"dataset": ds}))


def test_a_column_whose_values_are_phones_or_emails_is_refused_unless_declared_not_pii(tmp_path: Path) -> None:
    users = [(u, j, s, "13912345678" if i else "gold", r, a, n, p) for i, (u, j, s, _, r, a, n, p) in enumerate(GOOD_USERS)]
    cfg = world_config(tmp_path, GOOD_EVENTS, users)
    with pytest.raises(PiiFeatureError, match=r"member_level: offered as a feature \(listed in users.attributes\) "
                                              r"but 2 of 3 sampled values look like Chinese mobile numbers"):
        validate_dataset(cfg)
    fine = cfg.dataset.model_copy(update={"not_pii": ("member_level",)})
    validate_dataset(cfg.model_copy(update={"dataset": fine}))
    named = cfg.dataset.model_copy(update={"users": cfg.dataset.users.model_copy(update={"attributes": ("store_name",)})})
    with pytest.raises(PiiFeatureError, match="store_name"):
        validate_dataset(cfg.model_copy(update={"dataset": named}))
