"""How boosters share the machine's threads when several fit at once in one process.

Boosters train in native code outside the GIL, and on the demo's 60-100k-row training sets one
booster gains little from a second thread while two boosters side by side gain nearly twice. So
several models (`siyu.jobs.training.train_tasks`) and a learner's own boosters (`side_by_side`) fit
in Python threads, each booster on one thread.
"""

from __future__ import annotations

import contextlib
import contextvars
import ctypes
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

_cap_lock = threading.Lock()
_cap_users = 0


@contextlib.contextmanager
def lightgbm_one_thread() -> Iterator[None]:
    """Every LightGBM call in the process at one thread while this lasts (nested uses count).

    LightGBM keeps its thread count in one process-wide variable that each call sets from its own
    `num_threads` (a prediction without one sets the OpenMP default, all cores). A training that
    sized its per-thread buffers for one thread crashed when another thread's call raised the
    count mid-way: a segfault building a Dataset, seen with two boosters fitting side by side.
    LightGBM's hard cap, `LGBM_SetMaxThreads` (public in its C API, not wrapped in Python), holds
    every call at one thread, whatever it asks for."""
    global _cap_users
    from lightgbm.basic import _LIB

    with _cap_lock:
        if _cap_users == 0:
            _LIB.LGBM_SetMaxThreads(ctypes.c_int(1))
        _cap_users += 1
    try:
        yield
    finally:
        with _cap_lock:
            _cap_users -= 1
            if _cap_users == 0:
                _LIB.LGBM_SetMaxThreads(ctypes.c_int(-1))  # -1: no cap, LightGBM's default


@contextlib.contextmanager
def one_thread_per_call() -> Iterator[None]:
    """LightGBM (`lightgbm_one_thread`) and BLAS (the linear baselines' solvers) at one thread per
    call while whole models fit side by side: BLAS too keeps its thread count process-wide, so two
    fits would each start one thread per core."""
    from threadpoolctl import threadpool_limits

    with lightgbm_one_thread(), threadpool_limits(limits=1, user_api="blas"):
        yield


def side_by_side(calls: list[Callable[[], T]], n_jobs: int) -> list[T]:
    """Run `calls` (each fits or refits its own boosters) up to `n_jobs` at a time in threads,
    results in their order; one at a time when `n_jobs` is 1. Each call runs in a copy of the
    caller's context, so what the caller set there (`siyu.models.rounds.counting_rounds`) holds in it."""
    workers = min(n_jobs, len(calls))
    if workers <= 1:
        return [call() for call in calls]
    with lightgbm_one_thread(), ThreadPoolExecutor(max_workers=workers, thread_name_prefix="siyu-member") as pool:
        futures = [pool.submit(contextvars.copy_context().run, call) for call in calls]
        return [future.result() for future in futures]


def member_threads(n_jobs: int, n_members: int) -> int:
    """Threads for each of `n_members` boosters fitted side by side within `n_jobs` (1 whenever
    more than one runs at once, as `lightgbm_one_thread` then holds LightGBM to)."""
    return 1 if min(n_jobs, n_members) > 1 else n_jobs
