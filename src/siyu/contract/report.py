"""The validation report: per table, rows in / clean / rejected and per rule count, share, examples."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

EXAMPLE_CHARS = 80  # what a message or the report's table shows of one example value


def example_text(value: Any) -> str:
    """One example value as a message shows it: quoted, and cut short with its length when long
    (the rejects file keeps the whole text; a line that swallowed the next hundred lines through
    an unbalanced quote would otherwise fill the screen)."""
    if value is None:
        return "NULL"
    text = str(value)
    if len(text) <= EXAMPLE_CHARS:
        return repr(text)
    return f"{text[:EXAMPLE_CHARS]!r}... ({len(text):,} characters)"


@dataclass(frozen=True)
class RuleOutcome:
    """What one rule found: `count` rows (None for schema/config findings), up to 5 examples."""

    rule: str
    table: str
    severity: str
    scope: str
    column: str
    count: int | None
    share: float | None
    message: str
    examples: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class TableReport:
    """One table's validation: where it came from, where its rows went, what each rule found."""

    table: str
    source: str
    rows_in: int
    rows_clean: int
    rows_rejected: int
    clean_path: str
    rejects_path: str
    outcomes: tuple[RuleOutcome, ...]
    rows_added: int = 0  # users only: users derived from events (no users table / unknown users)

    @property
    def reject_rate(self) -> float:
        """Share of input rows rejected (0 for an empty table)."""
        return self.rows_rejected / self.rows_in if self.rows_in else 0.0

    def failing(self) -> tuple[RuleOutcome, ...]:
        """Outcomes with at least one row, or schema/config findings."""
        return tuple(o for o in self.outcomes if o.count is None or o.count > 0)


@dataclass(frozen=True)
class ValidationReport:
    """The whole run: dataset, as-of time, threshold, status and the tables' reports."""

    dataset: str
    as_of: str | None
    timezone: str
    max_reject_rate: float
    events: TableReport
    users: TableReport
    status: str  # 'passed' | 'failed'
    summary: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    more_events: tuple[TableReport, ...] = ()  # one per further events source
    attribute_history: TableReport | None = None  # users.history, when configured

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    @property
    def tables(self) -> tuple[TableReport, ...]:
        history = () if self.attribute_history is None else (self.attribute_history,)
        return (self.events, *self.more_events, self.users, *history)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (what `work/reports/validation.json` holds)."""
        out = asdict(self)
        for name in ("events", "users", "attribute_history"):
            if getattr(self, name) is not None:
                out[name]["reject_rate"] = getattr(self, name).reject_rate
        for entry, table in zip(out["more_events"], self.more_events, strict=True):
            entry["reject_rate"] = table.reject_rate
        return out
