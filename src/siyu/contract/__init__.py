"""The data contract: canonical schemas, column mapping and validation rules."""

from siyu.contract.errors import (
    ContractError,
    MissingColumnsError,
    PiiFeatureError,
    SourceError,
    ValidationFailed,
)
from siyu.contract.mapping import (
    MappedTable,
    SchemaIssue,
    check_config,
    map_events,
    map_users,
    pii_issues,
)
from siyu.contract.report import RuleOutcome, TableReport, ValidationReport
from siyu.contract.rules import EVENT_RULES, USER_RULES, Rule
from siyu.contract.schema import ACTIVITY_ROLES, EVENT_COLUMNS, ROLES, USER_BASE_COLUMNS, ColumnSpec

__all__ = [
    "ACTIVITY_ROLES",
    "EVENT_COLUMNS",
    "EVENT_RULES",
    "ROLES",
    "USER_BASE_COLUMNS",
    "USER_RULES",
    "ColumnSpec",
    "ContractError",
    "MappedTable",
    "MissingColumnsError",
    "PiiFeatureError",
    "Rule",
    "RuleOutcome",
    "SchemaIssue",
    "SourceError",
    "TableReport",
    "ValidationFailed",
    "ValidationReport",
    "check_config",
    "map_events",
    "map_users",
    "pii_issues",
]
