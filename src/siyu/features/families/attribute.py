"""A users-table column as a categorical feature."""

from __future__ import annotations

from dataclasses import dataclass

from siyu.features.family import Column, Family, SpecError, family, set_name
from siyu.features.plan import UserAttr
from siyu.features.words import ATTRIBUTES_ZH


@family("attribute")
@dataclass(frozen=True)
class Attribute(Family):
    """A users-table column as a categorical feature (source_channel or a declared attribute)."""

    column: str
    name: str = ""

    def __post_init__(self) -> None:
        if not self.column.isidentifier():
            raise SpecError(f"Attribute: column must be a plain column name, got {self.column!r}")
        set_name(self, self.column)

    def compile(self):
        return [(self.name, UserAttr(self.column))]

    def describe(self):
        zh = ATTRIBUTES_ZH.get(self.column, self.column)
        return [Column(self.name, "categorical", "category", f"用户属性:{zh}",
                       f"user attribute: {self.column.replace('_', ' ')}")]

    def lacks(self, profile):
        if self.column in profile.changing:
            return (f"{self.column!r} changes over time and the data has no history of it: today's value at a "
                    "past cutoff would leak the future (users.changing)")
        if not profile.attributes.get(self.column):
            return f"the users table has no values in column {self.column!r}"
        return None
