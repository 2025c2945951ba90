"""Decisions: from uplift scores to a budgeted contact plan with a randomized holdout (pure)."""

from siyu.decisions.plan import (
    NONE,
    Allocation,
    PlanInputs,
    contact_plan,
    draw_holdout,
    dual_bound,
    expected_gains,
    plan_totals,
    solve_plan,
)

__all__ = ["NONE", "Allocation", "PlanInputs", "contact_plan", "draw_holdout", "dual_bound", "expected_gains", "plan_totals",
           "solve_plan"]
