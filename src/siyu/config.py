"""Frozen, typed configuration objects.

YAML in ``configs/`` is parsed once, at the CLI (``siyu.cli._config``), into these objects and
then passed down as plain arguments. Library code never reads files or environment variables.
Each section belongs to one package; the package's owner extends its section here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Role = Literal["purchase", "refund", "interaction", "contact"]
TaskName = Literal["churn", "purchase_intent", "ltv"]
TASK_NAMES: tuple[TaskName, ...] = ("churn", "purchase_intent", "ltv")


class Frozen(BaseModel):
    """Base: immutable, unknown keys are an error (a typo in YAML must not pass silently)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


# --------------------------------------------------------------------------- dataset / contract
class ColumnMap(Frozen):
    """Which source column holds each canonical events column (None: absent in the source)."""

    user_id: str = "user_id"
    ts: str = "ts"
    event_type: str | None = "event_type"
    channel: str | None = "channel"
    amount: str | None = "amount"
    item_id: str | None = "item_id"
    category: str | None = "category"
    session_id: str | None = "session_id"
    event_id: str | None = "event_id"
    quantity: str | None = None


class SourceConfig(Frozen):
    """Where a table comes from: a CSV / Parquet file, folder or glob, or a DuckDB table."""

    path: str
    format: Literal["csv", "parquet", "duckdb"] = "parquet"
    table: str | None = None  # for format=duckdb: the table inside the database file
    delimiter: str | None = None  # csv; None lets DuckDB sniff; "whitespace" for runs of spaces
    header: bool = True  # csv
    column_names: tuple[str, ...] | None = None  # csv without header
    ts_format: str | None = None  # strptime format, e.g. "%Y%m%d"; None: ISO-8601

    @model_validator(mode="after")
    def _duckdb_needs_table(self) -> SourceConfig:
        if self.format == "duckdb" and not self.table:
            raise ValueError("format 'duckdb' needs 'table': the table to read inside the database file")
        return self


class EventRoles(Frozen):
    """Which event types play which role. ``default_role`` covers a log with one kind of row."""

    purchase: tuple[str, ...] = ()
    refund: tuple[str, ...] = ()
    interaction: tuple[str, ...] = ()
    contact: tuple[str, ...] = ()  # brand-initiated campaign contacts: not user activity
    default_event_type: str | None = None  # e.g. "purchase" for a transactions-only log

    def role_of(self) -> dict[str, Role]:
        """event_type -> role."""
        mapping: dict[str, Role] = {}
        for role in ("purchase", "refund", "interaction", "contact"):
            for event_type in getattr(self, role):
                mapping[event_type] = role  # type: ignore[assignment]
        return mapping


class UsersConfig(Frozen):
    """Optional users table: id, join time, source channel, declared attributes and PII."""

    source: SourceConfig
    user_id: str = "user_id"
    joined_at: str | None = "joined_at"
    source_channel: str | None = "source_channel"
    attributes: tuple[str, ...] = ()  # declared attributes usable as categorical features
    pii: tuple[str, ...] = ()  # never features, never logged, never in reports


class DatasetConfig(Frozen):
    """An interaction history mapped into siyu's event contract by configuration alone."""

    name: str
    events: SourceConfig
    columns: ColumnMap = ColumnMap()
    roles: EventRoles
    users: UsersConfig | None = None
    timezone: str = "Asia/Shanghai"
    pii: tuple[str, ...] = ()  # PII columns of the events source, if any
    feature_columns: tuple[str, ...] = ()  # extra source columns offered as features (PII checked)
    max_reject_rate: float = Field(0.01, ge=0, le=1)


# --------------------------------------------------------------------------- features / tasks
class TaskConfig(Frozen):
    """A prediction task: its label window and, for churn, the activity look-back."""

    name: TaskName
    horizon_days: int = Field(gt=0)
    population_lookback_days: int | None = None  # churn: active within this many days


DEFAULT_TASKS: tuple[TaskConfig, ...] = (
    TaskConfig(name="churn", horizon_days=30, population_lookback_days=30),
    TaskConfig(name="purchase_intent", horizon_days=7),
    TaskConfig(name="ltv", horizon_days=90),
)


class TrainsetConfig(Frozen):
    """Cutoff grid and the time split. Cutoffs are Mondays 00:00 local time."""

    step_days: int = Field(14, gt=0)
    n_train_cutoffs: int = Field(8, gt=0)
    n_valid_cutoffs: int = Field(2, gt=0)
    n_test_cutoffs: int = Field(1, gt=0)


# --------------------------------------------------------------------------- models / tracking
class TuningConfig(Frozen):
    n_trials: int = Field(20, gt=0)
    timeout_s: float | None = 600
    seed: int = 0


class TrackingConfig(Frozen):
    uri: str = "sqlite:///mlflow.db"
    artifact_root: str = "mlartifacts"
    experiment: str = "siyu"
    registry_prefix: str = "siyu"


class PromotionConfig(Frozen):
    """A challenger becomes champion only if it beats it on the same test cutoff by `margin`."""

    margin: float = 0.002
    metric_by_task: dict[str, str] = {"churn": "test_auc", "purchase_intent": "test_auc", "ltv": "test_gini"}


class TrainingConfig(Frozen):
    seed: int = 42
    models: tuple[str, ...] = ("lightgbm", "xgboost", "rule", "logistic", "bgnbd")
    calibration: Literal["isotonic", "platt", "none"] = "isotonic"
    tuning: TuningConfig = TuningConfig()
    promotion: PromotionConfig = PromotionConfig()


# --------------------------------------------------------------------------- scoring / tags
class BandConfig(Frozen):
    """Cut a score into named bands: by probability thresholds or by quantiles (high first)."""

    tag: str
    task: TaskName
    labels: tuple[str, ...]
    method: Literal["threshold", "quantile"] = "threshold"
    edges: tuple[float, ...]  # descending; len(edges) == len(labels) - 1
    hysteresis: float = 0.0  # a user keeps the previous band unless the score moves this far past the edge

    @model_validator(mode="after")
    def _edges_match_labels(self) -> BandConfig:
        if len(self.edges) != len(self.labels) - 1:
            raise ValueError(
                f"band '{self.tag}': {len(self.labels)} labels need {len(self.labels) - 1} edges, got {len(self.edges)}"
            )
        if list(self.edges) != sorted(self.edges, reverse=True):
            raise ValueError(f"band '{self.tag}': edges must be descending (high band first), got {list(self.edges)}")
        return self


class GuardConfig(Frozen):
    psi_warn: float = 0.1
    psi_fail: float = 0.25
    score_shift_fail: float = 0.25  # PSI of the score distribution vs the last run / training
    max_changed_share: float = 0.5  # share of users whose tag changed since the last run
    min_users: int = 1


class ScoringConfig(Frozen):
    bands: tuple[BandConfig, ...] = (
        BandConfig(tag="churn_risk", task="churn", labels=("high", "medium", "low"), edges=(0.5, 0.2), hysteresis=0.02),
        BandConfig(tag="purchase_intent", task="purchase_intent", labels=("hot", "warm", "cold"), edges=(0.3, 0.1), hysteresis=0.02),
        BandConfig(tag="ltv_tier", task="ltv", labels=("A", "B", "C", "D"), method="quantile", edges=(0.9, 0.7, 0.4), hysteresis=0.02),
    )
    guards: GuardConfig = GuardConfig()
    tag_store_url: str = "duckdb:///work/tags.duckdb"
    reasons_top_k: int = 3
    lang: Literal["zh", "en"] = "zh"


# --------------------------------------------------------------------------- the whole project
class PathsConfig(Frozen):
    world: str = "data/demo"  # synthetic world (events, users, truth) when generated
    work: str = "work"  # clean events, rejects, reports, training sets, tags

    @property
    def work_dir(self) -> Path:
        return Path(self.work)

    @property
    def clean_events(self) -> Path:
        return Path(self.work) / "clean" / "events"

    @property
    def clean_users(self) -> Path:
        return Path(self.work) / "clean" / "users.parquet"

    @property
    def rejects_dir(self) -> Path:
        return Path(self.work) / "rejects"

    @property
    def reports_dir(self) -> Path:
        return Path(self.work) / "reports"

    @property
    def trainsets_dir(self) -> Path:
        return Path(self.work) / "trainsets"

    @property
    def truth_dir(self) -> Path:
        return Path(self.world) / "truth"


class SiyuConfig(Frozen):
    """The resolved project configuration (what `siyu` commands run with; logged to MLflow)."""

    dataset: DatasetConfig
    feature_specs_path: str = "configs/features.yaml"
    paths: PathsConfig = PathsConfig()
    tasks: tuple[TaskConfig, ...] = DEFAULT_TASKS
    trainset: TrainsetConfig = TrainsetConfig()
    training: TrainingConfig = TrainingConfig()
    tracking: TrackingConfig = TrackingConfig()
    scoring: ScoringConfig = ScoringConfig()
    memory_limit: str = "4GB"  # DuckDB memory_limit; it spills to disk beyond it
    threads: int = 2

    @field_validator("tasks")
    @classmethod
    def _unique_tasks(cls, tasks: tuple[TaskConfig, ...]) -> tuple[TaskConfig, ...]:
        names = [t.name for t in tasks]
        if len(set(names)) != len(names):
            raise ValueError(f"tasks: each task once, got {names}")
        return tasks

    def task(self, name: str) -> TaskConfig:
        for task in self.tasks:
            if task.name == name:
                return task
        raise KeyError(f"unknown task '{name}'; configured: {[t.name for t in self.tasks]}")
