"""A password in a store URL is never shown: messages, the logged config and the CLI get it masked."""

from __future__ import annotations

from siyu.config import SiyuConfig, mask_url
from siyu.io.tagstore import SqlAlchemyTagStore

SECRET = "s3cr3t-pw"
URL = f"postgresql+psycopg://siyu:{SECRET}@db.example:5432/tags"


def test_mask_url_hides_only_the_password():
    assert mask_url(URL) == "postgresql+psycopg://siyu:***@db.example:5432/tags"
    for plain in ("duckdb:///work/tags.duckdb", "sqlite:///work/tags.db", "postgresql://siyu@host/db"):
        assert mask_url(plain) == plain


def test_store_messages_and_logged_config_carry_no_password():
    store = SqlAlchemyTagStore(URL)  # no connection is made until the store is used
    assert SECRET not in store.url and store.engine.url.password == SECRET
    cfg = SiyuConfig.model_validate({
        "dataset": {"name": "d", "events": {"path": "e.csv"}, "roles": {"purchase": ["p"]}},
        "scoring": {"tag_store_url": URL}, "tracking": {"uri": f"postgresql://mlflow:{SECRET}@db/mlflow"}})
    assert SECRET not in str(cfg.redacted())
    assert cfg.scoring.tag_store_url == URL  # the config itself keeps what it needs to connect
