"""The one protocol every run that publishes tags follows (`siyu score`, `siyu target`).

Hold the store's lock; a run whose key (as-of, model versions, config) is already published for
its kind is recorded `unchanged` and writes nothing; otherwise the run is recorded `running`,
`work()` computes and publishes it in one transaction (`TagStore.publish`), and a failure marks
it `blocked` (a guard failed) or `failed` (anything else) while the previous tags stay current.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any, TypeVar

from siyu.io.tagstore import RunRecord, TagStore
from siyu.scoring.guards import GuardFailed, guard_dicts

T = TypeVar("T")


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def publish_once(
    store: TagStore,
    *,
    run_id: str,
    as_of: dt.date,
    started: dt.datetime,
    run_key: str,
    model_versions: Mapping[str, Any],
    forced: bool,
    work: Callable[[], T],
    unchanged: Callable[[RunRecord], T],
    timings: MutableMapping[str, float] | None = None,
    kind: str = "score",
) -> T:
    """Run `work()` (which publishes run `run_id`) under the lock, or `unchanged(done)` when a
    published run of `kind` already has `run_key`. A GuardFailed from `work` is re-raised naming
    the run, which is recorded `blocked`; any other error records it `failed` and propagates."""
    with store.locked(run_id, as_of, started):
        done = store.find_published(run_key, kind)
        store.begin_run(run_id, as_of, started, run_key=run_key, model_versions=model_versions, forced=forced,
                        kind=kind)
        if done is not None:
            return unchanged(done)
        try:
            return work()
        except GuardFailed as exc:
            named = GuardFailed(exc.results, run_id)  # the core raised it without the run's id
            store.finish_run(run_id, "blocked", _utcnow(), message=str(named), guards=guard_dicts(exc.results),
                             timings=timings)
            raise named from None
        except BaseException as exc:
            store.finish_run(run_id, "failed", _utcnow(), message=f"{type(exc).__name__}: {exc}", timings=timings)
            raise
