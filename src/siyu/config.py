"""Frozen, typed configuration objects.

YAML in ``configs/`` is parsed once, at the CLI (``siyu.cli._config``), into these objects and
then passed down as plain arguments. Library code never reads files or environment variables.
Each section belongs to one package; the package's owner extends its section here.
"""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

if TYPE_CHECKING:
    from siyu.contract.profile import DataProfile
    from siyu.features.specs import FeatureSet
    from siyu.features.vocabulary import ResolvedFeatures

Role = Literal["purchase", "refund", "interaction", "contact"]


class Frozen(BaseModel):
    """Base: immutable, unknown keys are an error (a typo in YAML must not pass silently)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def mask_url(url: str) -> str:
    """`url` with any password replaced by ***: what the CLI, logs, MLflow and reports show."""
    import re

    return re.sub(r"(://[^/:@\s]*:)[^@/\s]*@", r"\1***@", url)


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
    order_id: str | None = None  # order / basket id: the lines of one order count as one purchase
    campaign_id: str | None = None  # campaign of a contact: without it a campaign is a day's contacts
    quantity: str | None = None  # units in the row; only used when `amount_per_unit` is true
    # False: `amount` is the row's total (what a receipt says). True: `amount` holds a unit
    # price and the canonical amount is quantity × unit price (a null quantity counts as 1).
    amount_per_unit: bool = False

    @model_validator(mode="after")
    def _per_unit_needs_quantity(self) -> ColumnMap:
        if self.amount_per_unit and not (self.quantity and self.amount):
            raise ValueError("amount_per_unit: true needs both 'quantity' and 'amount' columns mapped")
        return self


class SourceConfig(Frozen):
    """Where a table comes from: a CSV / Parquet file, folder or glob, or a DuckDB table."""

    path: str
    format: Literal["csv", "parquet", "duckdb"] = "parquet"
    table: str | None = None  # for format=duckdb: the table inside the database file
    delimiter: str | None = None  # csv; None: a comma (RFC 4180); "whitespace" for runs of spaces
    header: bool = True  # csv
    column_names: tuple[str, ...] | None = None  # csv without header
    ts_format: str | None = None  # strptime format, e.g. "%Y%m%d"; None: ISO-8601
    # CSV dialect, read as configured (RFC 4180 by default), never guessed from a sample: a quote
    # opens a field that may hold delimiters and line breaks; a doubled quote inside is one quote.
    quote: str = '"'
    escape: str = '"'
    encoding: str = "utf-8"  # e.g. gbk or gb18030 for a file exported by a Chinese Excel
    max_field_chars: int = Field(65_536, gt=0)  # a longer field rejects its row (not the file)

    @model_validator(mode="after")
    def _duckdb_needs_table(self) -> SourceConfig:
        if self.format == "duckdb" and not self.table:
            raise ValueError("format 'duckdb' needs 'table': the table to read inside the database file")
        if self.format == "csv" and not self.header and not self.column_names:
            raise ValueError("a CSV without a header ('header: false') needs 'column_names', in file order")
        if self.delimiter is not None and self.delimiter != "whitespace" and len(self.delimiter) != 1:
            raise ValueError(f"delimiter: one character or 'whitespace', got {self.delimiter!r}")
        for key in ("quote", "escape"):
            if len(getattr(self, key)) > 1:
                raise ValueError(f"{key}: one character (or '' for none), got {getattr(self, key)!r}")
        try:
            codecs.lookup(self.encoding)
        except LookupError:
            raise ValueError(f"encoding: {self.encoding!r} is not an encoding Python knows; e.g. utf-8, gbk, "
                             "gb18030, latin-1") from None
        return self


class EventRoles(Frozen):
    """Which event types play which role. ``default_role`` covers a log with one kind of row."""

    purchase: tuple[str, ...] = ()
    refund: tuple[str, ...] = ()
    interaction: tuple[str, ...] = ()
    contact: tuple[str, ...] = ()  # brand-initiated campaign contacts: not user activity
    default_event_type: str | None = None  # e.g. "purchase" for a transactions-only log

    @model_validator(mode="after")
    def _one_role_per_type(self) -> EventRoles:
        seen: dict[str, str] = {}
        for role in ("purchase", "refund", "interaction", "contact"):
            for event_type in getattr(self, role):
                if event_type in seen and seen[event_type] != role:
                    raise ValueError(f"event type '{event_type}' listed under both '{seen[event_type]}' and '{role}'")
                seen[event_type] = role
        return self

    def in_use(self) -> tuple[str, ...]:
        """The roles some event type plays (`purchase`, `refund`, `interaction`, `contact`)."""
        return tuple(r for r in ("purchase", "refund", "interaction", "contact") if getattr(self, r))

    def role_of(self) -> dict[str, Role]:
        """event_type -> role."""
        mapping: dict[str, Role] = {}
        for role in ("purchase", "refund", "interaction", "contact"):
            for event_type in getattr(self, role):
                mapping[event_type] = role  # type: ignore[assignment]
        return mapping


class AttributeHistoryConfig(Frozen):
    """The history of changing attributes, one row per change: who, which attribute, its new
    value and from when it holds (`valid_from`, read like event times). A feature reads the value
    as of each cutoff: the latest change strictly before it."""

    source: SourceConfig
    user_id: str = "user_id"
    attribute: str = "attribute"
    value: str = "value"
    valid_from: str = "valid_from"


class UsersConfig(Frozen):
    """Optional users table: id, join time, source channel, declared attributes and PII."""

    source: SourceConfig
    user_id: str = "user_id"
    joined_at: str | None = "joined_at"
    source_channel: str | None = "source_channel"
    attributes: tuple[str, ...] = ()  # declared attributes usable as categorical features
    # Attributes that change after the join (a member level upgraded because the user bought, a
    # city that moves): today's value at a past cutoff leaks the future, so without a history of
    # them they are kept in the clean users but never become features.
    changing: tuple[str, ...] = ()
    # Where the changes of the `changing` attributes are recorded: with it they become features
    # read as of each cutoff.
    history: AttributeHistoryConfig | None = None

    @model_validator(mode="after")
    def _changing_are_attributes(self) -> UsersConfig:
        stray = [c for c in self.changing if c not in self.attributes]
        if stray:
            raise ValueError(f"users.changing: {stray} are not listed under users.attributes {list(self.attributes)}")
        if self.history is not None and not self.changing:
            raise ValueError("users.history: no attribute is declared under users.changing; list the attributes "
                             "whose changes the history records, e.g. changing: [member_level]")
        return self
    pii: tuple[str, ...] = ()  # never features, never logged, never in reports


class EventSource(Frozen):
    """Another events source unioned into the one EventLog (orders, coupon redemptions, campaign
    contacts, ... kept apart by the brand): its own file, format and column map, validated on
    its own with its own rejects file."""

    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    events: SourceConfig
    columns: ColumnMap = ColumnMap()
    default_event_type: str | None = None  # the event type of every row when the source has no such column


class ItemsConfig(Frozen):
    """An optional item table: fills `category` from `item_id` where an event carries none."""

    source: SourceConfig
    item_id: str = "item_id"
    category: str = "category"


class DatasetConfig(Frozen):
    """An interaction history mapped into siyu's event contract by configuration alone."""

    name: str
    events: SourceConfig
    columns: ColumnMap = ColumnMap()
    more_events: tuple[EventSource, ...] = ()  # further sources, unioned with `events`
    roles: EventRoles
    users: UsersConfig | None = None
    items: ItemsConfig | None = None
    timezone: str = "Asia/Shanghai"
    pii: tuple[str, ...] = ()  # PII columns of the events source, if any
    not_pii: tuple[str, ...] = ()  # columns named like personal data (e.g. `store_name`) that are not
    feature_columns: tuple[str, ...] = ()  # extra source columns offered as features (PII checked)
    max_reject_rate: float = Field(0.01, ge=0, le=1)
    max_abs_amount: float = Field(1e9, gt=0)  # a larger |amount| is rejected as a data error
    # How money is shown in reasons and reports: a symbol ('¥', '$', '€') or code ('HKD ').
    currency: str = Field("¥", min_length=1, max_length=8, pattern=r"^[^{}]+$")

    @field_validator("more_events")
    @classmethod
    def _unique_sources(cls, sources: tuple[EventSource, ...]) -> tuple[EventSource, ...]:
        names = [s.name for s in sources]
        if len(set(names)) != len(names) or "events" in names:
            raise ValueError(f"more_events: each source needs its own name (not 'events'), got {names}")
        return sources

    def source_view(self, source: EventSource) -> DatasetConfig:
        """This dataset as one of its further sources sees it: that source's file and columns, the
        shared roles (its default event type first), no extra feature columns."""
        roles = self.roles.model_copy(update={"default_event_type": source.default_event_type
                                              or self.roles.default_event_type})
        return self.model_copy(update={"events": source.events, "columns": source.columns, "roles": roles,
                                       "feature_columns": (), "more_events": ()})

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, timezone: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {timezone!r} (e.g. 'Asia/Shanghai', 'UTC')") from exc
        return timezone


# --------------------------------------------------------------------------- features / tasks
TaskLabel = Literal["no_activity", "any_activity", "any_purchase", "net_spend"]
TaskKind = Literal["binary", "amount"]


class PopulationRule(Frozen):
    """Who a task scores at a cutoff: every user known before it, or (`active_within_days`) only
    those with activity in the days before it. Compiled to SQL for the labels and to a mask over
    the recency-of-activity feature for scoring (`siyu.labels.tasks`), from this one rule."""

    active_within_days: int | None = Field(None, gt=0)


class TaskConfig(Frozen):
    """A prediction task as data: a label over [cutoff, cutoff + horizon), its population, and
    what follows from them (binary or amount, headline metric). A new task is one YAML entry:
    `{name: churn_15d, horizon_days: 15, label: no_activity, population: {active_within_days: 30}}`.

    Labels: `no_activity` (churn: no activity in the horizon), `any_activity` (return),
    `any_purchase` (purchase intent) are binary; `net_spend` (LTV) is an amount.
    `truth_column` names the generated world's exact answer for this task, when it has one.
    """

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    horizon_days: int = Field(gt=0)
    label: TaskLabel
    population: PopulationRule = PopulationRule()
    truth_column: str | None = None
    # Contact event types whose effect on the label the task estimates (vs no contact): non-empty
    # makes an uplift task (trained on randomized campaigns, `siyu.uplift`), `each` = every
    # contact event type in the data (resolved against its profile like the feature vocabulary).
    treatments: tuple[str, ...] = ()
    # This task's training cutoffs, in place of `trainset.n_train_cutoffs`: a long horizon on a
    # short history can accept the few that fit without shrinking the other tasks' training sets.
    n_train_cutoffs: int | None = Field(None, gt=0)

    @field_validator("treatments", mode="before")
    @classmethod
    def _each_treatment(cls, value: object) -> object:
        if isinstance(value, str):
            return (value,)
        return value

    @model_validator(mode="after")
    def _each_alone(self) -> TaskConfig:
        if "each" in self.treatments and len(self.treatments) > 1:
            raise ValueError(f"task '{self.name}': treatments is `each` or a list of contact event types, "
                             f"not both: {list(self.treatments)}")
        if self.treatments and self.label == "no_activity":
            raise ValueError(f"task '{self.name}': an uplift task's label must be better when higher; use "
                             "any_activity (its effect is minus the effect on churn) instead of no_activity")
        if self.treatments and self.n_train_cutoffs is not None:
            raise ValueError(f"task '{self.name}': n_train_cutoffs counts the cutoffs of a prediction task; an "
                             "uplift task's training set is its campaigns: set uplift.n_train_campaigns")
        if len(set(self.treatments)) != len(self.treatments) or "control" in self.treatments:
            raise ValueError(f"task '{self.name}': treatments must be distinct contact event types "
                             f"(and not 'control'), got {list(self.treatments)}")
        return self

    @property
    def uplift(self) -> bool:
        """An uplift task: estimates the effect of each treatment on the label (`siyu target` uses it)."""
        return bool(self.treatments)

    @model_validator(mode="before")
    @classmethod
    def _builtin_defaults(cls, data: object) -> object:
        """The three built-in tasks keep their short form (`{name: churn, horizon_days: 30}`)."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        lookback = data.pop("population_lookback_days", None)
        if lookback is not None and "population" not in data:
            data["population"] = {"active_within_days": lookback}
        builtin = _BUILTIN_TASKS.get(str(data.get("name")))
        if builtin is not None:
            for key, value in builtin.items():
                data.setdefault(key, value)
        return data

    @property
    def kind(self) -> TaskKind:
        """binary (a 0/1 label, scored as a probability) or amount (a spend, scored as its expectation)."""
        return "amount" if self.label == "net_spend" else "binary"

    @property
    def binary(self) -> bool:
        return self.kind == "binary"

    @property
    def headline_metric(self) -> str:
        """What leaderboards sort by and the gate compares: auc (binary) or gini (amount); qini
        for an uplift task (`siyu.uplift.metrics`)."""
        if self.uplift:
            return "qini"
        return "auc" if self.binary else "gini"


# What the built-in names mean when a config gives only `name` and `horizon_days`.
_BUILTIN_TASKS: dict[str, dict[str, object]] = {
    "churn": {"label": "no_activity", "population": {"active_within_days": 30}, "truth_column": "p_churn_30d"},
    "purchase_intent": {"label": "any_purchase", "truth_column": "p_purchase_7d"},
    "ltv": {"label": "net_spend", "truth_column": "ltv_net_90d"},
}

DEFAULT_TASKS: tuple[TaskConfig, ...] = (
    TaskConfig(name="churn", horizon_days=30),
    TaskConfig(name="purchase_intent", horizon_days=7),
    TaskConfig(name="ltv", horizon_days=90),
)
# Uplift tasks configured by default beside the prediction tasks (`SiyuConfig.tasks`): the effect
# of each contact type in the data on a purchase within 7 days (a dataset without contacts skips it).
DEFAULT_UPLIFT_TASKS: tuple[TaskConfig, ...] = (
    TaskConfig(name="uplift_purchase", horizon_days=7, label="any_purchase", treatments=("each",)),
)


class TrainsetConfig(Frozen):
    """Cutoff grid and the purged time split. Cutoffs are Mondays 00:00 local time.

    Each split is purged by the task's horizon (a train cutoff's label window ends by the first
    valid cutoff, a valid one's by the first test cutoff), so the splits sit a horizon apart.
    Several test cutoffs, so a held-out number is not one week's luck."""

    step_days: int = Field(14, gt=0)
    n_train_cutoffs: int = Field(8, gt=0)
    n_valid_cutoffs: int = Field(2, gt=0)
    n_test_cutoffs: int = Field(4, gt=0)
    min_history_days: int = Field(28, ge=0)  # the first cutoff needs this much history before it

    def for_task(self, task: TaskConfig) -> TrainsetConfig:
        """This split with the task's own number of training cutoffs, when it sets one."""
        if task.n_train_cutoffs is None:
            return self
        return self.model_copy(update={"n_train_cutoffs": task.n_train_cutoffs})


# --------------------------------------------------------------------------- models / tracking
class TuningConfig(Frozen):
    """Optuna: trials and timeout per study, TPE seed."""

    n_trials: int = Field(20, gt=0)
    timeout_s: float | None = 600
    seed: int = 0


class TrackingConfig(Frozen):
    uri: str = "sqlite:///mlflow.db"
    artifact_root: str = "mlartifacts"
    experiment: str = "siyu"
    registry_prefix: str = "siyu"


class PromotionConfig(Frozen):
    """A challenger becomes champion only if the lower 95 % bound of (challenger - champion) on
    the test cutoffs, from a paired bootstrap over users, lies above `margin`."""

    margin: float = 0.0
    metric_by_task: dict[str, str] = {}  # a task not named here is judged on test_<its headline metric>

    @field_validator("metric_by_task")
    @classmethod
    def _interval_metrics(cls, metrics: dict[str, str]) -> dict[str, str]:
        allowed = ("test_auc", "test_pr_auc", "test_gini", "test_qini")
        bad = {task: m for task, m in metrics.items() if m not in allowed}
        if bad:
            raise ValueError(f"promotion.metric_by_task: {bad} has no paired interval; use one of {list(allowed)}")
        return metrics


class TrainingConfig(Frozen):
    """Which models `siyu train --model all` fits (those that apply to each task), and how."""

    seed: int = 42
    models: tuple[str, ...] = ("lightgbm", "xgboost", "twopart", "rule", "logistic", "glm", "bgnbd")
    calibration: Literal["isotonic", "platt", "none"] = "isotonic"
    n_jobs: int = Field(2, gt=0)  # threads: `train` fits this many models side by side, one thread each
    plots: bool = True  # ROC / PR / reliability / gains / deciles / SHAP per run
    shap_sample_rows: int = Field(500, gt=0)
    n_bootstrap: int = Field(500, ge=50)  # replicates of the bootstrap over users behind every interval
    tuning: TuningConfig = TuningConfig()
    promotion: PromotionConfig = PromotionConfig()
    # The fitted BTYD outputs (P(alive), purchases expected over the task's horizon, Gamma-Gamma
    # spend) as booster features: `auto` on an order history alone (where BG/NBD is the baseline
    # to beat and the outputs carry the rhythm the summaries hide), `on` / `off` anywhere. On the
    # demo world, with its interactions and contacts, they measured as noise: opt-in there.
    btyd_features: Literal["auto", "on", "off"] = "auto"

    @property
    def model_kwargs(self) -> dict[str, object]:
        """What `siyu.models.make_model` takes from here: seed, calibration, threads."""
        return {"random_state": self.seed, "calibration": self.calibration, "n_jobs": self.n_jobs}


# --------------------------------------------------------------------------- scoring / tags
class BandConfig(Frozen):
    """Cut a score into named bands: by probability thresholds or by quantiles (high first)."""

    tag: str
    task: str  # the task whose score is cut (a configured task's name)
    labels: tuple[str, ...]
    method: Literal["threshold", "quantile"] = "threshold"
    edges: tuple[float, ...]  # descending; len(edges) == len(labels) - 1
    hysteresis: float = Field(0.0, ge=0)  # a user keeps the previous band unless the score (or rank) moves this far past the edge

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
    """Checks before a scoring run publishes; each over its threshold stops the run (unless --force)."""

    psi_warn: float = Field(0.1, ge=0)
    psi_fail: float = Field(0.25, ge=0)
    # A single feature past psi_fail (tenure in a growing user base, contact recency against the
    # campaign calendar) is expected between retrains: the run fails only when more than this
    # share of a model's features drift past psi_fail; fewer is a warning naming them.
    max_drifted_share: float = Field(0.1, ge=0, le=1)
    score_shift_warn: float = Field(0.1, ge=0)
    score_shift_fail: float = Field(0.25, ge=0)  # PSI of the score distribution vs the last run / training
    max_changed_share: float = Field(0.5, ge=0, le=1)  # share of users whose tag changed since the last run
    min_users: int = Field(1, ge=0)
    psi_bins: int = Field(10, ge=2)  # quantile bins of a score / feature without a reference profile
    top_offenders: int = Field(5, gt=0)  # how many features / transitions an error message names

    @model_validator(mode="after")
    def _warn_below_fail(self) -> GuardConfig:
        if self.psi_warn > self.psi_fail or self.score_shift_warn > self.score_shift_fail:
            raise ValueError("guards: each warn threshold must not exceed its fail threshold")
        return self


class ScoringConfig(Frozen):
    bands: tuple[BandConfig, ...] = (
        # Cut on each run's score quantiles by default, so any base rate (a 97 % churn log, a 1 %
        # purchase log) spreads users over the bands; fixed probability edges are `method: threshold`.
        BandConfig(tag="churn_risk", task="churn", labels=("high", "medium", "low"), method="quantile",
                   edges=(0.8, 0.5), hysteresis=0.02),
        BandConfig(tag="purchase_intent", task="purchase_intent", labels=("hot", "warm", "cold"), method="quantile",
                   edges=(0.9, 0.7), hysteresis=0.02),
        BandConfig(tag="ltv_tier", task="ltv", labels=("A", "B", "C", "D"), method="quantile", edges=(0.9, 0.7, 0.4), hysteresis=0.02),
    )
    rule_tags: tuple[str, ...] = ("lifecycle_stage", "rfm_segment")  # feature columns copied as tags
    guards: GuardConfig = GuardConfig()
    # duckdb:///relative/path.duckdb (embedded default, DuckDB API) or any SQLAlchemy URL
    # (postgresql+psycopg://user@host/db, sqlite:///work/tags.db).
    tag_store_url: str = "duckdb:///work/tags.duckdb"
    reason_tasks: tuple[str, ...] = ("churn",)  # tasks whose top reasons become <task>_reason_1..k
    reason_bands: tuple[str, ...] = ("high",)  # only users in these bands get reasons (empty: all)
    reasons_top_k: int = Field(3, ge=0)
    lang: Literal["zh", "en"] = "zh"
    experiment: str = "siyu-scoring"  # MLflow experiment of the scoring runs
    exports_dir: str = "work/exports"
    # CSV for people starts with a UTF-8 byte-order mark, so Excel on Chinese Windows reads the
    # reasons and labels instead of garbling them; switch off for tools that choke on one.
    csv_bom: bool = True
    # Never exported even if a tag were named so; the dataset's declared PII is added to these.
    pii_columns: tuple[str, ...] = ("name", "phone", "mobile", "email", "wechat_id", "openid", "unionid", "address", "id_card")

    @field_validator("bands")
    @classmethod
    def _unique_band_tags(cls, bands: tuple[BandConfig, ...]) -> tuple[BandConfig, ...]:
        tags = [b.tag for b in bands]
        if len(set(tags)) != len(tags):
            raise ValueError(f"scoring.bands: each tag once, got {tags}")
        return bands


# --------------------------------------------------------------------------- operations view
class FunnelConfig(Frozen):
    """An ordered funnel: event types in order, each at or after the one before and all within
    `window_days` of the first. Users enter at their first step-1 event in the `period_days`
    that end `window_days` before as-of, so every entrant's window has fully elapsed."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    steps: tuple[str, ...] = Field(min_length=2)
    window_days: int = Field(7, gt=0)
    period_days: int = Field(28, gt=0)


class CostTableConfig(Frozen):
    """Acquisition spend per source channel and period (CSV or Parquet): columns `channel`,
    `period` (a date or YYYY-MM; it falls in the LTV cohort that holds it), `spend`, and
    optionally `new_users` (else the users who joined through the channel in that period)."""

    path: str
    format: Literal["csv", "parquet"] = "csv"


class OperationsConfig(Frozen):
    """`siyu analyze`: retention cohorts, activity, lifecycle flows, funnels, commerce, LTV by channel."""

    retention_days: tuple[int, ...] = (1, 7, 30)
    # on_day: an event on day N after the join day (classic D1 / D7 / D30);
    # within: an event on any of days 1..N (cumulative, kinder to rare events such as purchases).
    retention_mode: Literal["on_day", "within"] = "on_day"
    activity_days: int = Field(90, gt=0)  # how many days of the DAU / WAU / MAU series to keep
    flow_days: int = Field(30, gt=0)  # lifecycle transitions from as-of minus this to as-of
    funnels: tuple[FunnelConfig, ...] = ()
    repurchase_days: int = Field(90, gt=0)
    ltv_days: tuple[int, ...] = (30, 90, 180)
    cohort_grain: Literal["week", "month"] = "month"  # LTV and CAC cohorts by join period
    cost_table: CostTableConfig | None = None

    @field_validator("retention_days", "ltv_days")
    @classmethod
    def _positive_sorted(cls, days: tuple[int, ...]) -> tuple[int, ...]:
        if not days or any(d <= 0 for d in days):
            raise ValueError(f"expected one or more positive day counts, got {list(days)}")
        return tuple(sorted(set(days)))

    @field_validator("funnels")
    @classmethod
    def _unique_funnels(cls, funnels: tuple[FunnelConfig, ...]) -> tuple[FunnelConfig, ...]:
        names = [f.name for f in funnels]
        if len(set(names)) != len(names):
            raise ValueError(f"operations.funnels: each name once, got {names}")
        return funnels


class SegmentsConfig(Frozen):
    """`siyu segment`: K-Means behavioural segments on standardized point-in-time features.

    K is the one in [k_min, k_max] with the highest silhouette on a random sample of users;
    each segment is named from its centroid by rules (recency, frequency, spend, trend) and keeps
    its name across refits (new centroids are matched to the previous model's). With `enabled`,
    `siyu score` writes the `tag` from the registered segment model with the other tags."""

    enabled: bool = False
    tag: str = "segment"
    # Feature columns to cluster on; empty: asked of the feature set (recency of activity and of
    # purchase, purchase count and net spend over the longest window, activity in 30 d, trend, tenure).
    features: tuple[str, ...] = ()
    k_min: int = Field(8, ge=2)
    k_max: int = Field(12, ge=2)
    silhouette_sample: int = Field(3000, ge=100)
    n_init: int = Field(4, gt=0)
    seed: int = 0
    registry_name: str = Field("segments", pattern=r"^[a-z][a-z0-9_-]*$")  # registered as <prefix>-<this>

    @model_validator(mode="after")
    def _k_range(self) -> SegmentsConfig:
        if self.k_min > self.k_max:
            raise ValueError(f"segments: k_min ({self.k_min}) must not exceed k_max ({self.k_max})")
        return self


class ExperimentsConfig(Frozen):
    """`siyu experiment`: readouts of a campaign or a contact plan once its horizons have passed.

    Each metric is read over [cutoff, cutoff + h) with its own horizon (a metric whose window is not
    yet inside the data is listed as pending); CUPED's covariate is the same metric over the h days
    before the cutoff. The SRM check fails below `srm_alpha`; a group (segment or lifecycle stage)
    with fewer than `min_cell_users` in an arm is flagged small; plan compliance counts contacts in
    the `compliance_days` after the plan's as-of."""

    horizons: dict[str, int] = {"retention": 30, "purchase_rate": 7, "spend_per_user": 90}
    level: float = Field(0.95, gt=0.5, lt=1)
    srm_alpha: float = Field(0.001, gt=0, lt=0.5)
    min_cell_users: int = Field(100, ge=1)
    compliance_days: int = Field(7, ge=1)

    @field_validator("horizons")
    @classmethod
    def _known_metrics(cls, horizons: dict[str, int]) -> dict[str, int]:
        known = ("retention", "purchase_rate", "spend_per_user")
        bad = sorted(set(horizons) - set(known))
        if bad or not horizons:
            raise ValueError(f"experiments.horizons: metrics are {list(known)} (at least one), got {sorted(horizons)}")
        if any(h < 1 for h in horizons.values()):
            raise ValueError(f"experiments.horizons: days must be >= 1, got {horizons}")
        return {m: int(horizons[m]) for m in known if m in horizons}


class Play(Frozen):
    """One recommended play: when a user's tags match `when` (tag -> value or values; a numbered
    segment such as `steady_regular_2` matches `steady_regular`), do `action` (zh / en)."""

    when: dict[str, str | tuple[str, ...]] = Field(min_length=1)
    action_zh: str = Field(min_length=1)
    action_en: str = Field(min_length=1)

    def values(self, tag: str) -> tuple[str, ...]:
        value = self.when[tag]
        return (value,) if isinstance(value, str) else tuple(value)


class PlaybookConfig(Frozen):
    """What to do for each band and segment: the first play whose conditions all hold is a user's
    `next_action` (exported with the tags, shown in the reports). Read from `playbook_path`."""

    plays: tuple[Play, ...] = ()


# --------------------------------------------------------------------------- decisions (siyu target)
class TreatmentPlan(Frozen):
    """What contacting one user with a treatment costs, and the channel it goes out on."""

    cost: float = Field(ge=0)  # per contacted user, in the dataset's currency (message fee, coupon value)
    channel: str = Field("default", min_length=1)
    capacity: int | None = Field(None, ge=0)  # at most this many users get it (None: no limit)


class TargetingConfig(Frozen):
    """`siyu target`: a budgeted contact plan from the uplift champion (siyu.decisions).

    Per eligible user (the uplift task's population at as-of) the treatment, or none, maximising
    expected incremental value = uplift × value − cost, under `budget` and the capacities; a
    `holdout_share` of each treatment's chosen users is withheld at random (drawn with `seed` and
    the as-of date) so the plan's effect can be measured. `value` is what one unit of the outcome
    is worth: for a binary outcome (a purchase) `margin` × `value_per_conversion` (value_source
    constant) or `margin` × the `value_task` champion's prediction (value_source model: the user's
    expected net spend); for a money outcome (net_spend) the uplift is money and value = `margin`.
    Checked against the tasks and the champion by `targeting_problems` when `siyu target` starts.
    """

    task: str = Field("uplift_purchase", pattern=r"^[a-z][a-z0-9_]*$")  # the uplift task whose champion plans
    treatments: dict[str, TreatmentPlan] = {}  # per treatment (contact event type): cost, channel, capacity
    channel_capacity: dict[str, int] = {}  # at most this many users per channel
    budget: float | None = Field(None, ge=0)  # total cost of the chosen users; None: no limit (`--budget` overrides)
    value_source: Literal["constant", "model"] = "constant"
    value_per_conversion: float | None = Field(None, gt=0)  # money one conversion brings (binary outcome, constant)
    value_task: str = "ltv"  # the task whose champion predicts a user's value (value_source model)
    margin: float = Field(1.0, gt=0, le=1)  # share of the money that is profit
    min_gain: float = Field(0.0, ge=0)  # a user is contacted only if the expected gain is at least this
    holdout_share: float = Field(0.1, ge=0, lt=1)
    seed: int = 0

    @field_validator("channel_capacity")
    @classmethod
    def _non_negative(cls, caps: dict[str, int]) -> dict[str, int]:
        bad = {k: v for k, v in caps.items() if v < 0}
        if bad:
            raise ValueError(f"channel_capacity: users per channel must be >= 0, got {bad}")
        return caps

    @model_validator(mode="after")
    def _capacities_name_channels(self) -> TargetingConfig:
        channels = {t.channel for t in self.treatments.values()}
        stray = sorted(set(self.channel_capacity) - channels)
        if self.treatments and stray:
            raise ValueError(f"channel_capacity: channel(s) {stray} carry no treatment; treatments go out on "
                             f"{sorted(channels)} (treatments.<name>.channel)")
        return self


def targeting_problems(cfg: SiyuConfig) -> list[str]:
    """What keeps `targeting:` from planning with this config (empty: nothing), each with the fix."""
    t = cfg.targeting
    names = [task.name for task in cfg.tasks]
    if t.task not in names:
        return [f"targeting.task: '{t.task}' is not a configured task ({names}); add an uplift task to `tasks:` "
                "(e.g. {name: uplift_purchase, horizon_days: 7, label: any_purchase, treatments: "
                "[campaign_contact, coupon_push]}) or name one in targeting.task"]
    task = cfg.task(t.task)
    if not getattr(task, "uplift", True):
        return [f"targeting.task: task '{t.task}' is not an uplift task (it has no `treatments`); name an uplift "
                f"task, e.g. uplift_purchase; configured: {names}"]
    problems = []
    known = tuple(x for x in getattr(task, "treatments", ()) if x != "each")  # `each`: checked against the champion
    missing = [x for x in known if x not in t.treatments]
    if missing:
        problems.append(f"targeting.treatments: no cost for {missing} (task {t.task} has treatments {list(known)}); "
                        f"add e.g. `{missing[0]}: {{cost: 0.1, channel: wecom}}` for each")
    if not t.treatments and not known:
        problems.append("targeting.treatments: empty; give each treatment (contact event type) its cost, e.g. "
                        "`campaign_contact: {cost: 0.1, channel: wecom}`")
    if task.binary and t.value_source == "constant" and t.value_per_conversion is None:
        problems.append(f"targeting.value_per_conversion: task {t.task} has a binary outcome ({task.label}), so one "
                        "conversion needs a value: set value_per_conversion (money), or value_source: model (value_task: ltv)")
    if t.value_source == "model":
        if not task.binary:
            problems.append(f"targeting.value_source: model applies to a binary outcome; task {t.task} predicts money "
                            f"({task.label}) and its value is the margin: use value_source: constant")
        elif t.value_task not in names or cfg.task(t.value_task).binary:
            problems.append(f"targeting.value_task: '{t.value_task}' must be a configured money task (label net_spend) "
                            f"whose champion predicts a user's value; configured: {names}")
    return problems


# --------------------------------------------------------------------------- uplift (issue 15)
class UpliftConfig(Frozen):
    """Uplift training sets from randomized campaigns (`siyu trainset` on an uplift task).

    Rows are the task's population at each campaign's cutoff; campaigns split by time like the
    cutoff grid (the latest `n_test_campaigns` whose horizon ends in the data are test, valid
    and train before them, each purged by the horizon). A campaign whose arms (a treatment or
    control) hold fewer than `min_arm_rows` rows is left out with the reason; propensities are
    clipped to [`propensity_clip`, 1 - `propensity_clip`]; a classifier telling treated from
    control rows on the features with AUC above `overlap_auc_warn` is a warning in the manifest
    (randomized assignment gives about 0.5)."""

    n_train_campaigns: int = Field(24, gt=0)
    n_valid_campaigns: int = Field(8, gt=0)  # validation Qini picks the challenger: 4 campaigns were too noisy
    n_test_campaigns: int = Field(8, gt=0)
    min_arm_rows: int = Field(20, ge=1)
    propensity_clip: float = Field(0.01, gt=0, lt=0.5)
    overlap_auc_warn: float = Field(0.6, gt=0.5, le=1)
    min_treated_rows: int = Field(100, ge=1)  # fewer contacts of a treatment in the data: the task is skipped
    # `siyu train --model all` on an uplift task (those installed; `sklift` needs the `uplift` extra).
    # `drlearner` is trained by name only: on the 5,000-user demo its validation Qini tied the
    # X-learner's (mean of 5 seeds 0.069 vs 0.065, seed to seed 0.03-0.13) at about the same fit time.
    # `tlearner` too, since the X-learner averages its effect boosters: the X-learner is its outcome
    # models plus an effect step, and on validation it led over seeds 0-4 (Qini 0.094 +- 0.022 vs
    # 0.054 +- 0.034, ahead at 4 of 5), while the 8 valid campaigns' Qini swings about 0.04 for a
    # random ranking, so a T-learner kept in the pool won the choice by noise now and then.
    models: tuple[str, ...] = ("xlearner", "random", "risk", "response", "sklift")


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
    def clean_history(self) -> Path:
        """The changing attributes' clean history (`users.history`): user_id, attribute, value, valid_from."""
        return Path(self.work) / "clean" / "attribute_history.parquet"

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


Engine = Literal["embedded", "spark"]


class SparkConfig(Frozen):
    """Where `engine: spark` (or `--engine spark`) runs: the master URL (`local[2]`, `yarn`,
    `spark://host:7077`, `k8s://...`) and any `spark.*` settings, passed to the session as given
    (executor memory and cores, `spark.sql.shuffle.partitions`, Hadoop filesystem keys, ...)."""

    master: str = "local[2]"
    settings: dict[str, str] = {}

    @field_validator("settings", mode="before")
    @classmethod
    def _spark_keys(cls, data: object) -> object:
        if isinstance(data, dict):
            bad = sorted(str(k) for k in data if not str(k).startswith("spark."))
            if bad:
                raise ValueError(f"spark.settings: keys are Spark properties starting with 'spark.', got {bad}")
            return {str(k): str(v).lower() if isinstance(v, bool) else str(v) for k, v in data.items()}
        return data


class SiyuConfig(Frozen):
    """The resolved project configuration (what `siyu` commands run with; logged to MLflow)."""

    dataset: DatasetConfig
    feature_specs_path: str = "configs/features.yaml"  # where the CLI reads the feature specs from
    # The feature specs themselves (the mapping of configs/features.yaml), read once by the CLI;
    # jobs ask `features` and never read the file.
    feature_specs: dict[str, Any] | None = None
    paths: PathsConfig = PathsConfig()
    tasks: tuple[TaskConfig, ...] = (*DEFAULT_TASKS, *DEFAULT_UPLIFT_TASKS)
    # Which engine computes features and labels: the embedded one (DuckDB + compiled passes, one
    # machine) or Spark (`spark:` says where); both give the same rows and values.
    engine: Engine = "embedded"
    spark: SparkConfig = SparkConfig()
    trainset: TrainsetConfig = TrainsetConfig()
    training: TrainingConfig = TrainingConfig()
    tracking: TrackingConfig = TrackingConfig()
    scoring: ScoringConfig = ScoringConfig()
    operations: OperationsConfig = OperationsConfig()
    segments: SegmentsConfig = SegmentsConfig()
    experiments: ExperimentsConfig = ExperimentsConfig()
    playbook_path: str | None = None  # a playbook YAML the CLI reads (configs/playbook.yaml); None: no plays
    playbook: PlaybookConfig = PlaybookConfig()
    targeting: TargetingConfig = TargetingConfig()  # `siyu target`: the contact plan
    uplift: UpliftConfig = UpliftConfig()
    memory_limit: str = "4GB"  # DuckDB memory_limit; it spills to disk beyond it
    threads: int = 2

    @field_validator("feature_specs")
    @classmethod
    def _specs_parse(cls, data: dict[str, Any] | None) -> dict[str, Any] | None:
        # Imported here, not at the top: the feature package imports this module.
        from siyu.features.vocabulary import resolve_feature_specs

        if data is not None:
            resolve_feature_specs(data, None)  # a SpecError names the entry and what to fix
        return data

    def redacted(self) -> dict[str, Any]:
        """The config as JSON-ready data with secrets masked (what gets logged)."""
        data = self.model_dump(mode="json")
        data["scoring"]["tag_store_url"] = mask_url(data["scoring"]["tag_store_url"])
        data["tracking"]["uri"] = mask_url(str(data["tracking"]["uri"]))
        return data

    def features_for(self, profile: DataProfile | None) -> ResolvedFeatures:
        """The configured feature set resolved against a dataset's profile: vocabulary selectors
        become the data's own names and specs the data cannot feed are left out, with reasons."""
        from siyu.features.specs import SpecError
        from siyu.features.vocabulary import resolve_feature_specs

        if self.feature_specs is None:
            raise SpecError(f"{self.feature_specs_path}: no feature specs loaded; write the file (see "
                            "configs/features.yaml) or give `feature_specs` inline in the config")
        return resolve_feature_specs(self.feature_specs, profile)

    @property
    def features(self) -> FeatureSet:
        """The configured feature set as written (no selectors resolved, nothing left out): for
        configs that name everything; jobs resolve it with `siyu.io.workspace.feature_set`."""
        from siyu.features.specs import SpecError
        from siyu.features.vocabulary import has_selectors

        if self.feature_specs is not None and has_selectors(self.feature_specs):
            raise SpecError(f"{self.feature_specs_path}: the specs use vocabulary selectors (each / top); "
                            "they are resolved against the data profile (siyu.io.workspace.feature_set)")
        return self.features_for(None).specs

    @field_validator("tasks")
    @classmethod
    def _unique_tasks(cls, tasks: tuple[TaskConfig, ...]) -> tuple[TaskConfig, ...]:
        names = [t.name for t in tasks]
        if len(set(names)) != len(names):
            raise ValueError(f"tasks: each task once, got {names}")
        return tasks

    @model_validator(mode="before")
    @classmethod
    def _default_bands_follow_tasks(cls, data: object) -> object:
        """Default bands and reason tasks cover only the configured tasks (a project with churn
        alone needs no LTV champion); bands a config names itself are checked after."""
        if not isinstance(data, dict) or "tasks" not in data:
            return data
        names = {t.name if isinstance(t, TaskConfig) else dict(t).get("name") for t in data["tasks"]}
        scoring = data.get("scoring") or {}
        given = ({k: getattr(scoring, k) for k in scoring.model_fields_set} if isinstance(scoring, ScoringConfig)
                 else dict(scoring))
        defaults = ScoringConfig.model_fields
        if "bands" not in given:
            given["bands"] = tuple(b for b in defaults["bands"].default if b.task in names)
        if "reason_tasks" not in given:
            given["reason_tasks"] = tuple(t for t in defaults["reason_tasks"].default if t in names)
        return {**data, "scoring": given}

    @model_validator(mode="after")
    def _bands_name_configured_tasks(self) -> SiyuConfig:
        names = [t.name for t in self.tasks]
        stray = [f"band '{b.tag}' -> {b.task}" for b in self.scoring.bands if b.task not in names]
        stray += [f"reason_tasks -> {t}" for t in self.scoring.reason_tasks if t not in names]
        if stray:
            raise ValueError(f"scoring: {', '.join(stray)}: not a configured task; tasks: {names}")
        return self

    @model_validator(mode="after")
    def _bands_score_no_uplift_task(self) -> SiyuConfig:
        uplift = {t.name for t in self.tasks if t.uplift}
        stray = [f"band '{b.tag}' -> {b.task}" for b in self.scoring.bands if b.task in uplift]
        stray += [f"reason_tasks -> {t}" for t in self.scoring.reason_tasks if t in uplift]
        if stray:
            raise ValueError(f"scoring: {', '.join(stray)}: an uplift task has no score to band or explain; "
                             "its decisions come from `siyu target`")
        return self

    @model_validator(mode="after")
    def _plays_name_known_tags(self) -> SiyuConfig:
        known = [b.tag for b in self.scoring.bands] + list(self.scoring.rule_tags) + [self.segments.tag]
        stray = sorted({tag for play in self.playbook.plays for tag in play.when if tag not in known})
        if stray:
            raise ValueError(f"playbook: tag(s) {stray} are not tags siyu writes; known: {known}")
        return self

    def task(self, name: str) -> TaskConfig:
        for task in self.tasks:
            if task.name == name:
                return task
        raise KeyError(f"unknown task '{name}'; configured: {[t.name for t in self.tasks]}")
