"""The operations analysis job: the clean EventLog as of a date -> tables under
`work/reports/operations/` (Parquet + CSV) and `summary.json`."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from siyu.config import SiyuConfig
from siyu.features import Lifecycle
from siyu.features.specs import SpecError
from siyu.io.tables import read_cost_table, read_json, read_tables, write_tables, write_text
from siyu.io.workspace import clean_inputs, connect_work, feature_set, latest_as_of
from siyu.io.writers import write_json
from siyu.operations import analyze, stage
from siyu.operations.lifecycle_flow import lifecycle_rule


@dataclass(frozen=True)
class AnalysisSummary:
    """What `run_analysis` wrote: the folder, the tables, the headline numbers and the notes."""

    as_of: date
    folder: Path
    tables: dict[str, int]  # name -> rows
    summary: dict[str, Any]
    notes: tuple[str, ...]
    seconds: float


def operations_dir(cfg: SiyuConfig) -> Path:
    """Where the operations tables and summary go."""
    return cfg.paths.reports_dir / "operations"


def lifecycle_rule_of(cfg: SiyuConfig) -> Lifecycle:
    """The lifecycle rule of the feature set (resolved against the data), else the default (no specs loaded)."""
    try:
        return lifecycle_rule(feature_set(cfg).specs)
    except SpecError:
        return Lifecycle()


def run_analysis(cfg: SiyuConfig, as_of: date | None = None) -> AnalysisSummary:
    """Compute every operations table as of `as_of` (default: the day after the newest clean event)."""
    clock = time.perf_counter()
    events, users = clean_inputs(cfg)
    as_of = as_of or latest_as_of(cfg)
    ops = cfg.operations
    costs = read_cost_table(ops.cost_table) if ops.cost_table is not None else None
    con = connect_work(cfg)
    try:
        result = analyze(stage(con, events, users, as_of), ops, lifecycle_rule_of(cfg), costs,
                         currency=cfg.dataset.currency)
    finally:
        con.close()
    folder = operations_dir(cfg)
    write_tables(result.tables, folder, bom=cfg.scoring.csv_bom)
    seconds = time.perf_counter() - clock
    summary = {**result.summary, "tables": {n: len(t) for n, t in result.tables.items()}, "seconds": round(seconds, 2)}
    write_json(summary, folder / "summary.json")
    return AnalysisSummary(as_of, folder, summary["tables"], summary, result.notes, seconds)


TABLES = ("acquisition", "activity", "retention", "lifecycle_flow", "funnels", "commerce_monthly", "repurchase",
          "ltv", "ltv_cac")


def write_operations_reports(cfg: SiyuConfig, langs: tuple[str, ...] = ("zh", "en")) -> list[Path]:
    """`work/reports/operations_report_<lang>.html` for each language, from the tables `siyu analyze`
    wrote (and the segment profile `siyu segment` wrote, when there is one)."""
    from siyu.features import feature_catalog
    from siyu.operations.report import build_operations_report, render_operations_html

    folder = operations_dir(cfg)
    if not (folder / "summary.json").exists():
        raise FileNotFoundError(f"{folder}/summary.json: no operations tables yet; run `siyu analyze` first")
    summary = read_json(folder / "summary.json")
    tables = read_tables(folder, TABLES)
    segments = read_tables(folder, ("segments",)).get("segments")
    try:
        catalog = feature_catalog(feature_set(cfg).specs)
    except SpecError:
        catalog = []
    written = []
    for lang in langs:
        labels = {info.name: (info.desc_zh if lang == "zh" else info.desc_en) for info in catalog}
        report = build_operations_report(tables, summary, lang=lang, segments=segments, feature_labels=labels,
                                         plays=cfg.playbook.plays)
        written.append(write_text(render_operations_html(report), cfg.paths.reports_dir / f"operations_report_{lang}.html"))
    return written
