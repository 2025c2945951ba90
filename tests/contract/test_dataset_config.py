"""Dataset configs: the shipped ones load, and mistakes give errors a person can act on."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from contract_world import ROOT

from siyu.cli._config import ConfigError, load_config, load_dataset_config
from siyu.config import ColumnMap, EventRoles, SourceConfig

DATASETS = sorted((ROOT / "configs" / "datasets").glob("*.yaml"))


@pytest.mark.parametrize("path", DATASETS, ids=lambda p: p.stem)
def test_shipped_dataset_configs_load(path: Path) -> None:
    ds = load_dataset_config(path)
    assert ds.name == path.stem
    assert not Path(ds.events.path).is_absolute(), "dataset paths are relative to the project root"


def test_project_config_resolves_the_dataset_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # configs name their files relative to the project root
    cfg = load_config("configs/siyu.yaml")
    assert cfg.dataset.name == "synthetic" and cfg.dataset.users is not None
    assert set(cfg.dataset.users.pii) == {"name", "phone"}


def _write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "ds.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


BASE = {"name": "x", "events": {"path": "data/x.parquet"}, "roles": {"purchase": ["buy"]}}


def test_typo_in_a_key_names_the_key(tmp_path: Path) -> None:
    data = {**BASE, "colums": {"user_id": "uid"}}
    with pytest.raises(ConfigError, match=r"colums: Extra inputs are not permitted"):
        load_dataset_config(_write(tmp_path, data))


def test_typo_in_a_nested_key_names_the_path(tmp_path: Path) -> None:
    data = {**BASE, "columns": {"user_idd": "uid"}}
    with pytest.raises(ConfigError, match=r"columns\.user_idd: Extra inputs are not permitted"):
        load_dataset_config(_write(tmp_path, data))


def test_duckdb_source_without_table(tmp_path: Path) -> None:
    data = {**BASE, "events": {"path": "data/x.duckdb", "format": "duckdb"}}
    with pytest.raises(ConfigError, match=r"events: .*format 'duckdb' needs 'table'"):
        load_dataset_config(_write(tmp_path, data))


def test_unknown_time_zone(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"timezone: .*unknown IANA time zone 'Asia/Shanghia'"):
        load_dataset_config(_write(tmp_path, {**BASE, "timezone": "Asia/Shanghia"}))


def test_csv_without_header_needs_column_names() -> None:
    with pytest.raises(ValueError, match=r"without a header \('header: false'\) needs 'column_names'"):
        SourceConfig(path="x.csv", format="csv", header=False)


def test_delimiter_is_one_character_or_whitespace() -> None:
    with pytest.raises(ValueError, match=r"delimiter: one character or 'whitespace', got ';;'"):
        SourceConfig(path="x.csv", format="csv", delimiter=";;")


def test_an_event_type_has_one_role() -> None:
    with pytest.raises(ValueError, match=r"event type 'order' listed under both 'purchase' and 'interaction'"):
        EventRoles(purchase=("order",), interaction=("order",))


def test_amount_per_unit_needs_quantity() -> None:
    with pytest.raises(ValueError, match=r"amount_per_unit: true needs both 'quantity' and 'amount'"):
        ColumnMap(amount_per_unit=True)


def test_role_of_maps_every_listed_type() -> None:
    roles = EventRoles(purchase=("buy",), refund=("return",), interaction=("view", "like"), contact=("push",))
    assert roles.role_of() == {"buy": "purchase", "return": "refund", "view": "interaction",
                               "like": "interaction", "push": "contact"}
