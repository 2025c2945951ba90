"""`siyu analyze` end to end: tables as Parquet and CSV (with a byte-order mark), a summary whose
headline numbers are the tables' own; a log without money skips the money tables and says so."""

import json

import pandas as pd
import yaml
from ops_world import AS_OF
from typer.testing import CliRunner

from siyu.cli.main import app
from siyu.config import OperationsConfig
from siyu.features import Lifecycle, relation_sql
from siyu.io.duck import connect
from siyu.io.tables import UTF8_BOM
from siyu.operations import analyze, stage


def test_analyze_writes_tables_and_summary(world, tmp_path):
    costs = tmp_path / "costs.csv"
    costs.write_text("channel,period,spend\nwecom,2025-03,3000\nlive,2025-03,5000\n", encoding="utf-8")
    config = yaml.safe_load(world.config_path.read_text(encoding="utf-8"))
    config["operations"]["cost_table"] = {"path": str(costs)}
    path = tmp_path / "siyu.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    result = CliRunner().invoke(app, ["analyze", "--config", str(path), "--as-of", AS_OF.isoformat()])
    assert result.exit_code == 0, result.output
    assert "retention on activity" in result.output and "funnel read_to_purchase" in result.output
    folder = world.cfg.paths.reports_dir / "operations"
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    assert summary["as_of"] == AS_OF.isoformat()
    for name in ("acquisition", "activity", "retention", "lifecycle_flow", "funnels", "commerce_monthly",
                 "repurchase", "ltv", "ltv_cac"):
        assert (folder / f"{name}.parquet").exists() and (folder / f"{name}.csv").read_bytes().startswith(UTF8_BOM)
        assert summary["tables"][name] == len(pd.read_parquet(folder / f"{name}.parquet"))
    retention = pd.read_parquet(folder / "retention.parquet").query("basis == 'activity' and dimension == 'all'")
    assert summary["retention"]["activity"]["d7"] == round(retention["d7_rate"].iloc[0], 6)
    assert set(summary["ltv_cac"]) == {"wecom", "live"}
    assert not any("cost table" in note for note in summary["notes"])


def test_a_log_without_money_skips_the_money_tables(world, tmp_path):
    con = connect(memory_limit="1GB", threads=1)
    try:
        moneyless = tmp_path / "events.parquet"
        con.execute(f"COPY (SELECT * REPLACE (CAST(NULL AS DOUBLE) AS amount) "
                    f"FROM {relation_sql(world.cfg.paths.clean_events)}) TO '{moneyless}'")
        result = analyze(stage(con, moneyless, world.cfg.paths.clean_users, AS_OF), OperationsConfig(), Lifecycle())
    finally:
        con.close()
    assert "ltv" not in result.tables and "gmv" not in result.tables["commerce_monthly"].columns
    assert result.tables["commerce_monthly"]["orders"].sum() > 0
    assert any("no amounts" in note for note in result.notes)
    assert "gmv" not in result.summary["commerce_30d"]


def test_analyze_before_any_event_is_a_clear_error(world):
    result = CliRunner().invoke(app, ["analyze", "--config", str(world.config_path), "--as-of", "2020-01-01"])
    assert result.exit_code == 2 and "no clean event before as-of 2020-01-01" in result.output
