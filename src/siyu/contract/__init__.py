"""The data contract: canonical schemas, column mapping and validation rules."""

from siyu.contract.schema import EVENT_COLUMNS, ROLES, USER_BASE_COLUMNS, ColumnSpec

__all__ = ["EVENT_COLUMNS", "ROLES", "USER_BASE_COLUMNS", "ColumnSpec"]
