"""Decisions from randomized campaign contacts: campaigns, uplift training sets, uplift models,
contact plans and experiment readouts."""

# The yardsticks among the uplift models (`siyu.uplift.models`: random, risk, response). Each dresses
# a ranking as an effect (the average effect times the row's score over its mean), learned without
# comparing the arms, so a plan reading their uplift x value - cost reads a ranking, not an
# estimate. They stand on the leaderboard to be beaten and are never made challenger while a
# learner is there: on a 6,000-user world the response baseline won the validation Qini by noise,
# and its plan was worth what random contacts were (benchmarks/bench_plan_value.py). Named here,
# not read off the classes, so that choosing a challenger does not import the boosters.
YARDSTICKS = frozenset({"random", "risk", "response"})


def estimates_effects(model: str) -> bool:
    """Whether an uplift model name is an effect learner rather than a yardstick."""
    return model not in YARDSTICKS
