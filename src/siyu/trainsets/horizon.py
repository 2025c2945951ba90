"""Horizon-honest training sets: does a task's label horizon leave the training window asked for?

Every split sits a label window before the next (the purge) and the test cutoffs need a whole
window after them, so a long horizon on a short history leaves few training cutoffs, or none:
a 91-day label on nine months of orders trains on a handful of snapshots, and a 39-week
question cannot be labelled at all. Rather than train on what is left without a word, the
build says so in one line, with the numbers and the config keys that fix it: a shorter horizon
whose scores are rescaled to the question, an amount read as a rate, fewer cutoffs, or more
history. Pure functions of dates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from siyu.config import TaskConfig, TrainsetConfig
from siyu.trainsets.grid import GridError, cutoff_grid, split_cutoffs


class HorizonTooLong(GridError):
    """The task's horizon leaves no training cutoff on this history (a shorter one would)."""


@dataclass(frozen=True)
class HorizonFit:
    """How many training cutoffs a task's horizon leaves on the data's history, and the longest
    shorter horizon that would leave more (`fitting_cutoffs` of them: the number asked for, or
    as many as any horizon can on this history); None when no shorter horizon adds one."""

    task: TaskConfig
    first_event: date
    data_end: date
    train_cutoffs: int
    wanted: int
    longest_fitting_days: int | None = None
    fitting_cutoffs: int = 0

    @property
    def history_days(self) -> int:
        return (self.data_end - self.first_event).days

    @property
    def short(self) -> bool:
        """Fewer training cutoffs than asked for (the task's `n_train_cutoffs`, else the trainset's)."""
        return self.train_cutoffs < self.wanted

    def message(self) -> str:
        """One line: the horizon, the history, the cutoffs that fit, and the fixes by config key."""
        h = self.task.horizon_days
        longer = f" (longer than the {self.history_days}-day history itself)" if h >= self.history_days else ""
        head = (f"{self.task.name}: the {h}-day horizon{longer} leaves {self.train_cutoffs} of the {self.wanted} training "
                f"cutoffs asked for (history {self.history_days} days, {self.first_event.isoformat()}.."
                f"{self.data_end.isoformat()}; each split sits one {h}-day label window before the next and the "
                f"test cutoffs need one after them)")
        return f"{head}; fix: {'; or '.join(self._fixes())}"

    def _fixes(self) -> list[str]:
        t, h, short = self.task, self.task.horizon_days, self.longest_fitting_days
        fixes = []
        if short is not None:
            scale = f"{h}/{short}"
            rescale = (f"read its amount as a rate, × {scale}" if not t.binary else
                       f"rescale its probability to {h} days (1 - (1 - p)^({scale}) at a steady rate; BG/NBD's "
                       "P(X(t) > 0) takes any t)")
            fixes.append(f"set tasks[{t.name}].horizon_days to {short} or less ({self.fitting_cutoffs} training "
                         f"cutoffs fit) and {rescale}")
            if t.binary:
                fixes.append(f"a count / rate target: an amount over {short} days (label: net_spend) read as a "
                             f"rate × {scale}")
        if self.train_cutoffs:
            fixes.append(f"accept {self.train_cutoffs} (tasks[{t.name}].n_train_cutoffs: {self.train_cutoffs})")
        fixes.append("fewer trainset.n_valid_cutoffs / n_test_cutoffs, a smaller step_days, or more history")
        return fixes


def _train_cutoffs(first_event: date, data_end: date, cfg: TrainsetConfig, horizon_days: int) -> int:
    """Training cutoffs of the purged split on this history (0 when no split can be made)."""
    grid = cutoff_grid(first_event, data_end, horizon_days=horizon_days, step_days=cfg.step_days,
                       min_history_days=cfg.min_history_days)
    try:
        return len(split_cutoffs(grid, cfg, horizon_days=horizon_days)["train"])
    except GridError:
        return 0


def horizon_fit(task: TaskConfig, first_event: date, data_end: date, cfg: TrainsetConfig) -> HorizonFit:
    """What `task`'s horizon leaves of the training window on the history [first_event, data_end),
    against the task's own `n_train_cutoffs` when it sets one."""
    cfg = cfg.for_task(task)
    have = _train_cutoffs(first_event, data_end, cfg, task.horizon_days)
    fit = HorizonFit(task=task, first_event=first_event, data_end=data_end, train_cutoffs=have,
                     wanted=cfg.n_train_cutoffs)
    if have >= cfg.n_train_cutoffs or task.horizon_days == 1:
        return fit
    # A shorter horizon never leaves fewer cutoffs; the 1-day one leaves the most this history can.
    target = min(cfg.n_train_cutoffs, _train_cutoffs(first_event, data_end, cfg, 1))
    if target <= have:
        return fit
    longest = next(h for h in range(task.horizon_days - 1, 0, -1)
                   if _train_cutoffs(first_event, data_end, cfg, h) >= target)
    return HorizonFit(task=task, first_event=first_event, data_end=data_end, train_cutoffs=have,
                      wanted=cfg.n_train_cutoffs, longest_fitting_days=longest, fitting_cutoffs=target)


def check_horizon(fit: HorizonFit) -> str | None:
    """None when the horizon leaves the training cutoffs asked for; else the one-line warning.
    Raise HorizonTooLong when it leaves none and a shorter horizon would leave some (when none
    would, the history or the split is the problem, and the split says so itself)."""
    if not fit.short:
        return None
    if fit.train_cutoffs == 0:
        if fit.longest_fitting_days is not None:
            raise HorizonTooLong(fit.message())
        return None
    return fit.message()
