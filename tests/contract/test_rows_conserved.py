"""Nothing is lost: clean rows + rejected rows == input rows, for any mix of good and bad rows."""

from __future__ import annotations

import tempfile
from pathlib import Path

from contract_world import AS_OF, csv_config, parquet_rows
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from siyu.jobs.validate import validate_dataset

USER = st.sampled_from(["u1", "u2", "u3", ""])
TS = st.sampled_from(["2025-01-06 09:00:00", "2025-02-01", "2025-01-07T10:00:00+08:00", "2024-13-01", "", "2031-01-01"])
TYPE = st.sampled_from(["msg_open", "purchase", "refund", "campaign_contact", "teleport", ""])
AMOUNT = st.sampled_from(["", "12.5", "-3", "0", "abc"])
EVENT_ID = st.sampled_from(["e1", "e2", "e3", ""])
ROW = st.tuples(EVENT_ID, USER, TS, TYPE, AMOUNT)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(ROW, min_size=0, max_size=25))
def test_clean_plus_rejects_is_every_input_row(rows: list[tuple[str, ...]]) -> None:
    lines = [f"{eid},{user},{ts},{etype},store,{amount},,,," for eid, user, ts, etype, amount in rows]
    with tempfile.TemporaryDirectory() as tmp:
        result = validate_dataset(csv_config(Path(tmp), lines, max_reject_rate=1.0), as_of=AS_OF)
        clean = parquet_rows(result.clean_events)
        rejects = parquet_rows(result.rejects_events)
    report = result.report.events
    assert report.rows_in == len(rows) == len(clean) + len(rejects)
    assert (report.rows_clean, report.rows_rejected) == (len(clean), len(rejects))
    assert all(r["reject_reason"] for r in rejects)
    ids = [r["event_id"] for r in clean if r["event_id"] is not None]
    assert len(ids) == len(set(ids)), "no duplicate event_id survives"
    for row in clean:
        assert row["user_id"] and row["ts"] is not None and row["event_type"]
        assert row["ts"] <= AS_OF
        assert row["role"] != "purchase" or row["amount"] is not None
        assert row["amount"] is None or row["amount"] >= 0 or row["role"] == "refund"
