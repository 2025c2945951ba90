"""The data profile: what a clean EventLog holds (roles, event types, channels, categories,
sessions, money, user attributes), so feature specs can be resolved against the brand's own
vocabulary and families whose inputs are absent left out with a reason.

`profile_sql` / `groups_without` / `profile_parts` / `profile_from_rows` are pure; `siyu validate` runs them on the clean files and
writes `work/reports/profile.json`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from siyu.contract.schema import ROLES


@dataclass(frozen=True)
class DataProfile:
    """Counts of what the clean events and users hold. Mappings are ordered by rows, most first."""

    events: int = 0
    users: int = 0
    roles: dict[str, int] = field(default_factory=dict)  # role -> rows
    event_types: dict[str, dict[str, Any]] = field(default_factory=dict)  # type -> {role, rows}
    channels: dict[str, dict[str, int]] = field(default_factory=dict)  # channel -> {role: rows}
    categories: int = 0  # distinct non-null categories
    sessions: int = 0  # rows with a session id
    amounts: int = 0  # purchase / refund rows with an amount
    attributes: dict[str, int] = field(default_factory=dict)  # users-table column -> distinct non-null values
    changing: tuple[str, ...] = ()  # attributes declared changing, with no history: never features
    history: dict[str, int] = field(default_factory=dict)  # changing attribute -> distinct values in its history

    def rows_of(self, roles: tuple[str, ...]) -> int:
        return sum(self.roles.get(r, 0) for r in roles)

    def has_money(self) -> bool:
        return self.amounts > 0

    def event_types_of(self, roles: tuple[str, ...]) -> list[str]:
        """Event types whose role is among `roles`, most rows first."""
        return [t for t, v in self.event_types.items() if v["role"] in roles]

    def channels_of(self, roles: tuple[str, ...]) -> list[str]:
        """Channels with events of `roles`, most rows first."""
        counts = {c: sum(n for r, n in by_role.items() if r in roles) for c, by_role in self.channels.items()}
        return [c for c, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if n > 0]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DataProfile:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        if "changing" in known:
            known["changing"] = tuple(known["changing"])
        return cls(**known)


def profile_sql(events: str, *, count_users: bool = True) -> dict[str, str]:
    """The queries a profile is made of, over a clean events relation: `groups` (one scan:
    rows, sessions and amounts per event type, role, channel and category; a few hundred
    groups, cheaper than a scan per question) and, unless the caller counted them already,
    the distinct `users`."""
    queries = {
        "groups": ("SELECT event_type, role, channel, category, count(*) AS n, count(session_id) AS sessions, "
                   "count(amount) FILTER (WHERE role IN ('purchase', 'refund')) AS amounts "
                   f"FROM {events} GROUP BY ALL"),
    }
    if count_users:
        queries["users"] = f"SELECT count(DISTINCT user_id) FROM {events}"
    return queries


def groups_without(groups: list[tuple], removed: list[tuple]) -> list[tuple]:
    """`profile_sql` groups of some rows, less the groups of a subset of them (`removed`): the
    groups of the rows left, those left with no row dropped. Counts add up, so a log that is a
    source minus a few rejected rows is profiled from the source and the rejected rows alone."""
    left: dict[tuple, list[int]] = {}
    for *key, n, sessions, amounts in groups:
        counts = left.setdefault(tuple(key), [0, 0, 0])
        for i, value in enumerate((n, sessions, amounts)):
            counts[i] += int(value)
    for *key, n, sessions, amounts in removed:
        counts = left.setdefault(tuple(key), [0, 0, 0])
        for i, value in enumerate((n, sessions, amounts)):
            counts[i] -= int(value)
    if any(c < 0 for counts in left.values() for c in counts):
        raise ValueError("profile: more rows removed from a group than it holds; the removed rows are not a subset")
    return [(*key, *counts) for key, counts in left.items() if counts[0] > 0]


def profile_parts(groups: list[tuple], users: int) -> tuple[tuple, list[tuple], list[tuple]]:
    """(totals, types, channels) for `profile_from_rows`, from the rows of `profile_sql`'s
    `groups` and the distinct users."""
    types: dict[tuple, int] = {}
    channels: dict[tuple, int] = {}
    for event_type, role, channel, _, n, _, _ in groups:
        types[(event_type, role)] = types.get((event_type, role), 0) + int(n)
        if channel is not None:
            channels[(channel, role)] = channels.get((channel, role), 0) + int(n)
    categories = len({g[3] for g in groups if g[3] is not None})
    totals = (sum(int(g[4]) for g in groups), users, categories, sum(int(g[5]) for g in groups),
              sum(int(g[6]) for g in groups))
    type_rows = sorted(((t, r, n) for (t, r), n in types.items()), key=lambda x: (-x[2], str(x[0])))
    channel_rows = sorted(((c, r, n) for (c, r), n in channels.items()), key=lambda x: (str(x[0]), str(x[1])))
    return totals, type_rows, channel_rows


def profile_from_rows(totals: tuple, types: list[tuple], channels: list[tuple],
                      attributes: dict[str, int], changing: tuple[str, ...] = (),
                      history: dict[str, int] | None = None) -> DataProfile:
    """A profile from `profile_parts` and the users' attribute cardinalities."""
    roles: dict[str, int] = dict.fromkeys(ROLES, 0)
    event_types: dict[str, dict[str, Any]] = {}
    for event_type, role, n in types:
        roles[role] = roles.get(role, 0) + int(n)
        if event_type is not None:
            event_types[str(event_type)] = {"role": str(role), "rows": int(n)}
    by_channel: dict[str, dict[str, int]] = {}
    for channel, role, n in channels:
        by_channel.setdefault(str(channel), {})[str(role)] = int(n)
    order = sorted(by_channel, key=lambda c: (-sum(by_channel[c].values()), c))
    return DataProfile(
        events=int(totals[0]), users=int(totals[1]), roles={r: n for r, n in roles.items() if n},
        event_types=event_types, channels={c: by_channel[c] for c in order},
        categories=int(totals[2]), sessions=int(totals[3]), amounts=int(totals[4]), attributes=dict(attributes),
        changing=tuple(c for c in changing if c not in (history or {})), history=dict(history or {}),
    )
