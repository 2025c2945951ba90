"""Lifecycle stages at two dates follow the lifecycle rule tag (as the feature engine computes it),
and the flow between them conserves users."""

from datetime import timedelta

import ops_reference as reference
import pytest
from ops_world import AS_OF

from siyu.features import FeatureSet, Lifecycle, build_features
from siyu.io.duck import connect
from siyu.operations.lifecycle_flow import stages_at, transitions

START = AS_OF - timedelta(days=30)


def test_stages_equal_the_feature_engines_lifecycle_tag(world, ops):
    con = connect(memory_limit="1GB", threads=1)
    try:
        feats = build_features(con, FeatureSet((Lifecycle(),)), world.cfg.paths.clean_events,
                               world.cfg.paths.clean_users, [START, AS_OF])
    finally:
        con.close()
    for at in (START, AS_OF):
        engine = feats[feats["cutoff"] == str(at)].set_index("user_id")["lifecycle_stage"].astype(str)
        ours = stages_at(ops, Lifecycle(), at).set_index("user_id")["stage"]
        joined = ours[ours != "not_joined"]
        assert joined.sort_index().to_dict() == engine.sort_index().to_dict()


def test_flow_matches_pandas_and_conserves_users(world, ops):
    flow = transitions(ops, Lifecycle(), START, AS_OF)
    before = reference.lifecycle_at(world.events, world.users, AS_OF, START)
    after = reference.lifecycle_at(world.events, world.users, AS_OF, AS_OF)
    want = (before.rename("from_stage").to_frame().join(after.rename("to_stage"))
            .value_counts().to_dict())
    assert {(r.from_stage, r.to_stage): r.users for r in flow.itertuples()} == want
    assert flow["users"].sum() == ops.n_users
    assert flow.groupby("from_stage")["share"].sum().round(9).eq(1).all()
    assert not ((flow["from_stage"] == "active") & (flow["to_stage"] == "potential")).any()


def test_a_flow_into_the_future_is_refused(ops):
    with pytest.raises(ValueError, match="after as-of"):
        transitions(ops, Lifecycle(), START, AS_OF + timedelta(days=1))
