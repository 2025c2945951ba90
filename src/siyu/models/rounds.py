"""Boosting rounds as they happen, for a progress display (`siyu train` shows "fitting churn
lightgbm (round 140)").

A caller wraps a model's fit in `counting_rounds(counter)`; every LightGBM and XGBoost booster
trained inside it, in that thread or in the member threads `siyu.models.threads.side_by_side`
starts, registers with the counter and sets one number per round. A context variable carries the
counter rather than an argument: the boosters sit several calls below the caller (a learner's
members, the refits), and since a display must not change a model, no fit signature widens for it.
Nothing is printed here: the counter holds numbers, and whoever shows them reads `text()`.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass

RoundFn = Callable[[int], None]  # told the round (1-based) a booster has just finished


@dataclass
class _Booster:
    planned: int  # rounds asked for (the most an early-stopped fit runs; exactly those of a refit)
    refit: bool
    round: int = 0
    done: bool = False


class RoundCounter:
    """The boosters of one model's fit and the round each is at: written from the fit threads,
    read from any thread. `on_round`, when given, is called (from a fit thread) at most once every
    `every_s` seconds while rounds go by, so a display can refresh without a call per round."""

    def __init__(self, on_round: Callable[[], None] | None = None, *, every_s: float = 0.5) -> None:
        self._boosters: list[_Booster] = []
        self._lock = threading.Lock()
        self._on_round, self._every_s = on_round, every_s
        self._next = 0.0

    def start(self, planned: int, *, refit: bool = False) -> _Booster:
        """Register a booster about to train `planned` rounds."""
        booster = _Booster(planned, refit)
        with self._lock:
            self._boosters.append(booster)
        return booster

    def tick(self, booster: _Booster, round_: int) -> None:
        """`booster` has finished round `round_` (a number set, no lock: one writer per booster)."""
        booster.round = round_
        if self._on_round is not None:
            now = time.monotonic()
            if now >= self._next:
                self._next = now + self._every_s
                self._on_round()

    @property
    def boosters(self) -> int:
        """How many boosters have started so far."""
        return len(self._boosters)

    def forget_done(self) -> None:
        """Drop the boosters that have finished (a caller moving on to its next fit, e.g. a trial)."""
        with self._lock:
            self._boosters = [b for b in self._boosters if not b.done]

    def text(self) -> str:
        """The boosters training now: 'round 140', 'refit round 30 of 90', or with several boosters
        'booster 3 round 50, booster 4 round 12' ('starting' before a first round); '' when none is."""
        with self._lock:
            boosters = list(self._boosters)
        several = sum(not b.refit for b in boosters) > 1
        return ", ".join(f"{f'booster {i} ' if several else ''}{_state(b)}"
                         for i, b in enumerate(boosters, start=1) if not b.done)


def _state(booster: _Booster) -> str:
    kind = "refit" if booster.refit else ""
    if booster.round == 0:
        return f"{kind} starting".strip()
    of = f" of {booster.planned}" if booster.refit else ""
    return f"{kind} round {booster.round}{of}".strip()


_COUNTER: ContextVar[RoundCounter | None] = ContextVar("siyu_round_counter", default=None)


@contextlib.contextmanager
def counting_rounds(counter: RoundCounter) -> Iterator[RoundCounter]:
    """Count the rounds of every booster trained inside this block (see the module docstring)."""
    token = _COUNTER.set(counter)
    try:
        yield counter
    finally:
        _COUNTER.reset(token)


@contextlib.contextmanager
def booster_rounds(planned: int, *, refit: bool = False) -> Iterator[RoundFn | None]:
    """For a booster about to train: the function its library callback calls after each round,
    or None when nobody counts (then add no callback at all)."""
    counter = _COUNTER.get()
    if counter is None:
        yield None
        return
    booster = counter.start(planned, refit=refit)
    try:
        yield lambda round_: counter.tick(booster, round_)
    finally:
        booster.done = True
