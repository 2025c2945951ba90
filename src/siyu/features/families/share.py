"""activity_share_<daypart|weekday>_<N>d: when in the day or week a user is active."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from siyu.features.family import Column, Family, SpecError, check_days, family, lacking, set_name
from siyu.features.plan import ACTIVITY, Measure, Ratio, Win, count, pred

DAYPARTS: dict[str, tuple[int, int]] = {
    "night": (0, 6),
    "morning": (6, 12),
    "afternoon": (12, 18),
    "evening": (18, 24),
}
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAYPARTS_ZH = {"night": "凌晨(0-6点)", "morning": "上午(6-12点)", "afternoon": "下午(12-18点)", "evening": "晚间(18-24点)"}
WEEKDAYS_ZH = {"mon": "周一", "tue": "周二", "wed": "周三", "thu": "周四", "fri": "周五", "sat": "周六", "sun": "周日"}
WEEKDAYS_EN = {"mon": "Monday", "tue": "Tuesday", "wed": "Wednesday", "thu": "Thursday", "fri": "Friday",
               "sat": "Saturday", "sun": "Sunday"}


@family("share")
@dataclass(frozen=True)
class Share(Family):
    """Share of activity events in one daypart (hour-of-day bucket) or weekday, in the window."""

    days: int
    kind: Literal["daypart", "weekday"] = "daypart"
    value: str = "evening"
    name: str = ""

    def __post_init__(self) -> None:
        allowed = tuple(DAYPARTS) if self.kind == "daypart" else WEEKDAYS
        if self.kind not in ("daypart", "weekday") or self.value not in allowed:
            raise SpecError(
                f"Share {self.name!r}: kind must be daypart/weekday and value one of {allowed}, "
                f"got kind={self.kind!r} value={self.value!r}"
            )
        set_name(self, f"activity_share_{self.value}_{self.days}d")
        check_days(self, self.days)

    def compile(self):
        if self.kind == "daypart":
            part = Win(Measure("count", pred("activity", hours=DAYPARTS[self.value])), self.days)
        else:
            part = Win(Measure("weekday", ACTIVITY, WEEKDAYS.index(self.value) + 1), self.days)
        return [(self.name, Ratio(part, count(self.days, "activity")))]

    def describe(self):
        if self.kind == "daypart":
            zh, en = DAYPARTS_ZH[self.value], f"the {self.value}"
        else:
            zh, en = WEEKDAYS_ZH[self.value], WEEKDAYS_EN[self.value]
        return [Column(self.name, "numeric", "share", f"近{self.days}天{zh}活跃占比",
                       f"share of activity in {en}, last {self.days} days")]

    def lacks(self, profile):
        return lacking(profile, "activity")
