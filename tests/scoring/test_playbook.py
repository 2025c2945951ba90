"""The playbook: the first play whose conditions all hold gives a user's next action."""

import pandas as pd
import pytest
from pydantic import ValidationError

from siyu.cli._config import load_config
from siyu.config import Play, PlaybookConfig, SiyuConfig
from siyu.scoring.playbook import next_actions, play_for

PLAYS = (
    Play(when={"churn_risk": "high", "ltv_tier": ["A", "B"]}, action_zh="一对一关怀", action_en="1:1 care"),
    Play(when={"churn_risk": "high"}, action_zh="召回", action_en="win back"),
    Play(when={"segment": "steady_regular"}, action_zh="保持", action_en="keep the rhythm"),
)


def test_the_first_fitting_play_wins():
    tags = pd.DataFrame({"churn_risk": ["high", "high", "low", None, "low"],
                         "ltv_tier": ["B", "D", "A", "A", None],
                         "segment": ["steady_regular", "steady_regular", "steady_regular_2", None, "other"]})
    got = next_actions(tags, PLAYS, "en").tolist()
    assert got == ["1:1 care", "win back", "keep the rhythm", "", ""]  # a numbered segment keeps its play
    assert next_actions(tags, PLAYS, "zh").iloc[0] == "一对一关怀"


def test_a_play_on_a_tag_not_written_never_fits():
    assert play_for({"segment": "steady_regular"}, PLAYS, "en") == "keep the rhythm"
    assert play_for({"ltv_tier": "A"}, PLAYS, "en") == ""


def test_the_shipped_playbook_loads_with_the_shipped_config():
    cfg = load_config("configs/siyu.yaml")
    assert len(cfg.playbook.plays) >= 10
    assert {t for p in cfg.playbook.plays for t in p.when} <= {"churn_risk", "purchase_intent", "ltv_tier", "segment"}


def test_a_play_naming_an_unknown_tag_is_refused():
    data = load_config("configs/siyu.yaml").model_dump()
    data["playbook"] = PlaybookConfig(plays=(Play(when={"churn_rsik": "high"}, action_zh="x", action_en="x"),))
    with pytest.raises(ValidationError, match=r"playbook: tag\(s\) \['churn_rsik'\] are not tags siyu writes"):
        SiyuConfig.model_validate(data)
