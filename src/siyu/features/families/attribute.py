"""A users-table column as a categorical feature."""

from __future__ import annotations

from dataclasses import dataclass, replace

from siyu.features.family import Column, Family, SpecError, family, set_name
from siyu.features.plan import UserAttr, UserAttrAsOf
from siyu.features.words import ATTRIBUTES_ZH


@family("attribute")
@dataclass(frozen=True)
class Attribute(Family):
    """A users-table column as a categorical feature (source_channel or a declared attribute).

    `as_of`: the attribute changes over time and is read from its history as of each cutoff
    (set when the data profile has a history of the column, `for_profile`).
    """

    column: str
    name: str = ""
    as_of: bool = False

    def __post_init__(self) -> None:
        if not self.column.isidentifier():
            raise SpecError(f"Attribute: column must be a plain column name, got {self.column!r}")
        set_name(self, self.column)

    def compile(self):
        return [(self.name, UserAttrAsOf(self.column) if self.as_of else UserAttr(self.column))]

    def describe(self):
        zh = ATTRIBUTES_ZH.get(self.column, self.column)
        when_zh, when_en = ("(截至观察日)", " (as of the cutoff)") if self.as_of else ("", "")
        return [Column(self.name, "categorical", "category", f"用户属性:{zh}{when_zh}",
                       f"user attribute: {self.column.replace('_', ' ')}{when_en}")]

    def for_profile(self, profile):
        return replace(self, as_of=True) if self.column in profile.history else self

    def lacks(self, profile):
        if self.as_of:
            if self.column not in profile.history:
                return f"{self.column!r} is read from its history, and the data has no history of it (users.history)"
            return None
        if self.column in profile.changing:
            return (f"{self.column!r} changes over time and the data has no history of it: today's value at a "
                    "past cutoff would leak the future (users.changing)")
        if not profile.attributes.get(self.column):
            return f"the users table has no values in column {self.column!r}"
        return None
