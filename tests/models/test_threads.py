"""Boosters fitted side by side in threads: results in order, truly concurrent, errors raised,
and LightGBM held at one thread per call while they run (its thread count is process-wide)."""

import ctypes
import threading

import pytest
from lightgbm.basic import _LIB

from siyu.models.threads import lightgbm_one_thread, member_threads, side_by_side


def _lightgbm_cap() -> int:
    out = ctypes.c_int(0)
    _LIB.LGBM_GetMaxThreads(ctypes.byref(out))
    return out.value


def test_calls_run_at_once_and_return_in_their_order():
    meet = threading.Barrier(2, timeout=10)  # one call at a time would leave the first waiting: broken barrier

    def call(i):
        meet.wait()
        return i * 10

    assert side_by_side([lambda i=i: call(i) for i in range(2)], n_jobs=2) == [0, 10]
    assert side_by_side([lambda: 1, lambda: 2, lambda: 3], n_jobs=1) == [1, 2, 3]


def test_a_failing_call_raises_its_own_error():
    def boom():
        raise ValueError("no rows")

    with pytest.raises(ValueError, match="no rows"):
        side_by_side([lambda: 1, boom], n_jobs=2)


def test_lightgbm_is_held_at_one_thread_until_the_last_user_leaves():
    assert _lightgbm_cap() == -1
    with lightgbm_one_thread():
        assert _lightgbm_cap() == 1
        with lightgbm_one_thread():
            assert _lightgbm_cap() == 1
        assert _lightgbm_cap() == 1  # the outer user still runs boosters side by side
    assert _lightgbm_cap() == -1
    with pytest.raises(RuntimeError), lightgbm_one_thread():
        raise RuntimeError("a fit failed")
    assert _lightgbm_cap() == -1  # lifted on the way out of a failure too


def test_each_booster_gets_one_thread_whenever_several_run_at_once():
    assert member_threads(2, 6) == 1 and member_threads(8, 2) == 1
    assert member_threads(2, 1) == 2 and member_threads(1, 6) == 1


def test_whole_models_side_by_side_hold_blas_at_one_thread_too():
    from threadpoolctl import threadpool_info

    from siyu.models.threads import one_thread_per_call

    with one_thread_per_call():
        assert _lightgbm_cap() == 1
        assert all(pool["num_threads"] == 1 for pool in threadpool_info() if pool["user_api"] == "blas")
    assert _lightgbm_cap() == -1
