"""Errors of the data contract: each names the rule, the column, what arrived and what to do."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from siyu.contract.report import ValidationReport


class ContractError(Exception):
    """Input that cannot be mapped into the event contract (raised before any row is read)."""


class SourceError(ContractError):
    """A source that cannot be opened: no file at the path, no table, unreadable CSV."""


class MissingColumnsError(ContractError):
    """Required columns absent from a source (rule `missing_column`)."""


class PiiFeatureError(ContractError):
    """A column declared PII is also offered as a feature (rule `pii_as_feature`)."""


class ValidationFailed(ContractError):
    """The reject rate passed `max_reject_rate`; the report and the rejects were still written."""

    def __init__(self, message: str, report: ValidationReport) -> None:
        super().__init__(message)
        self.report = report
