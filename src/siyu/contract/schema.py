"""Canonical schemas of the clean EventLog and users table: declared once, used everywhere.

Every step after validation reads these files (``PathsConfig.clean_events`` /
``clean_users``) and may rely on exactly these columns and types.

- ``ts`` is a naive TIMESTAMP in the dataset's configured time zone (default Asia/Shanghai):
  a cutoff "2024-03-04" means local midnight, and day boundaries are local days.
- ``role`` is resolved from the dataset config at validation time, so feature and label code
  never needs the config's event-type lists. "Activity" (what keeps a user alive) is
  ``role IN ('interaction', 'purchase', 'refund')``; ``contact`` rows are the brand's campaign
  touches, logged for uplift work and for contact features, never counted as user activity.
- Refund amounts are negative; net spend is ``sum(amount)`` over purchase and refund rows.
- The clean users table never holds PII columns: they are dropped at the boundary.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ROLES: tuple[str, ...] = ("purchase", "refund", "interaction", "contact", "other")
ACTIVITY_ROLES: tuple[str, ...] = ("interaction", "purchase", "refund")


@dataclass(frozen=True)
class ColumnSpec:
    """One canonical column: its DuckDB type and whether a row needs it."""

    name: str
    duckdb_type: Literal["VARCHAR", "TIMESTAMP", "DOUBLE"]
    required: bool
    description: str


EVENT_COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("user_id", "VARCHAR", True, "one id per user across channels"),
    ColumnSpec("ts", "TIMESTAMP", True, "event time, naive, in the dataset time zone"),
    ColumnSpec("event_type", "VARCHAR", True, "source event name"),
    ColumnSpec("role", "VARCHAR", True, "purchase / refund / interaction / contact / other"),
    ColumnSpec("channel", "VARCHAR", False, "official_account, group, mini_program, wecom, live, app, store"),
    ColumnSpec("amount", "DOUBLE", False, "purchase amount (refunds negative)"),
    ColumnSpec("item_id", "VARCHAR", False, "item"),
    ColumnSpec("category", "VARCHAR", False, "item category"),
    ColumnSpec("session_id", "VARCHAR", False, "session, when the source has one"),
    ColumnSpec("event_id", "VARCHAR", False, "unique event id; duplicates are removed and counted"),
    ColumnSpec("order_id", "VARCHAR", False, "order / basket id: the lines of one order are one purchase"),
    ColumnSpec("campaign_id", "VARCHAR", False, "campaign a contact (or its open) belongs to: one uplift experiment"),
)

USER_BASE_COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("user_id", "VARCHAR", True, "one id per user across channels"),
    ColumnSpec("joined_at", "TIMESTAMP", False, "when the user became known"),
    ColumnSpec("source_channel", "VARCHAR", False, "channel the user joined through"),
)
# Declared attributes (member_level, region, age_band, ...) follow as VARCHAR columns.
