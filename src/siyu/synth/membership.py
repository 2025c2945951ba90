"""Member levels that change: a user joins at a level and is upgraded when their spend crosses
a threshold, as a CRM does. The history (user, time, new level) is what a brand's attribute
table records; today's level alone, read at a past cutoff, would leak the purchases after it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from siyu.synth.params import WorldParams, type_code
from siyu.synth.population import Population
from siyu.synth.simulate import EventBatch


@dataclass(frozen=True)
class MemberHistory:
    """Level changes of a chunk's users, sorted by user then time: the level at joining first,
    then one row per upgrade (one second after the purchase that crossed the threshold)."""

    user: np.ndarray  # int64 global user index
    day: np.ndarray  # int32 day index
    second: np.ndarray  # int32 second of the local day
    level: np.ndarray  # int code into MEMBER_LEVELS

    def final_levels(self, lo: int, hi: int) -> np.ndarray:
        """Each user's level at the end of the world (users lo..hi-1)."""
        out = np.zeros(hi - lo, dtype=np.int64)
        out[self.user - lo] = self.level  # rows are in time order per user: the last one wins
        return out


def member_history(pop: Population, lo: int, hi: int, events: EventBatch, params: WorldParams) -> MemberHistory:
    """The join row and the upgrades of users lo..hi-1 from their purchases (pure)."""
    thresholds = np.asarray(params.users.member_upgrade_spend)
    users = np.arange(lo, hi)
    bought = events.event_type == type_code("purchase")
    user, amount = events.user[bought], events.amount[bought]
    day, second = events.day[bought], events.second[bought]
    # Events are sorted by user then time: a cumulative sum restarted at each user's first purchase.
    total = np.cumsum(amount)
    starts = np.r_[0, np.flatnonzero(np.diff(user)) + 1] if user.size else np.zeros(0, dtype=np.int64)
    offset = np.repeat(total[starts] - amount[starts], np.diff(np.r_[starts, user.size]))
    spent = total - offset
    by_spend = np.searchsorted(thresholds, spent, side="right")
    level = np.maximum(by_spend, pop.member_level[user])
    # A row where the level rises above the user's previous one (or their join level).
    previous = np.where(np.r_[True, user[1:] != user[:-1]], pop.member_level[user], np.r_[0, level[:-1]])
    up = level > previous
    join_second = pop.join_second[users].astype(np.int32)
    all_user = np.r_[users, user[up]]
    all_day = np.r_[pop.join_day[users].astype(np.int32), day[up]]
    all_second = np.r_[join_second, np.minimum(second[up] + 1, 86_399)].astype(np.int32)
    all_level = np.r_[pop.member_level[users], level[up]]
    order = np.lexsort((all_second, all_day, all_user))
    return MemberHistory(user=all_user[order].astype(np.int64), day=all_day[order].astype(np.int32),
                         second=all_second[order], level=all_level[order].astype(np.int64))
