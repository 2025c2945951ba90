"""Decisions from randomized campaign contacts: campaigns, uplift training sets, uplift models,
contact plans and experiment readouts."""
