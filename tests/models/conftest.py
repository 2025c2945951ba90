"""Tiny synthetic training sets (the columns of a real one) for the model tests."""

import numpy as np
import pytest

from siyu.models.synthetic import toy_trainset

ID = ["user_id", "cutoff", "split", "label"]


def _splits(frame):
    """{split: (X, y)} of a toy training set."""
    out = {}
    for split in ("train", "valid", "test"):
        part = frame[frame["split"] == split]
        out[split] = (part.drop(columns=ID), part["label"].to_numpy(float))
    return out


@pytest.fixture(scope="session")
def toy_frames():
    """One small training set per task, built once."""
    return {task: toy_trainset(task, n_users=300, n_cutoffs=4, rng=np.random.default_rng(3))
            for task in ("churn", "purchase_intent", "ltv")}


@pytest.fixture(scope="session")
def toy_data(toy_frames):
    """{task: {split: (X, y)}} of the toy training sets."""
    return {task: _splits(frame) for task, frame in toy_frames.items()}
