"""When jobs run: "monday 07:00", "every day 06:30", "weekdays 07:00", "every 10 minutes".

A spec names *slots*, the moments a job is meant to run. Times of day are wall-clock
times in the project's time zone, so "monday 07:00" is 07:00 in Lisbon in winter and in
summer. The `schedule` library can only say when a job runs *next*; catching up after
downtime also needs the latest slot that already passed, so both directions are
computed here, with `zoneinfo`, and `sheetsync schedule --list`, the catch-up on start
and the library all agree.

Around a DST switch a time that does not exist that day (skipped when clocks go
forward) runs one hour later, and a time that happens twice (clocks go back) runs once,
at its first occurrence: the same choices the `schedule` library makes.

This module only parses and computes, so loading a config can check the specs without
importing the scheduler.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sheetsync.core.suggest import did_you_mean
from sheetsync.errors import ExitCode, SheetsyncError

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
UNITS = {"second": 1, "minute": 60, "hour": 3600}
_UNIT_WORDS = {**{u: u for u in UNITS}, "sec": "second", "min": "minute", "hr": "hour"}
EXAMPLES = '"monday 07:00", "every day 06:30", "weekdays 07:00" or "every 10 minutes"'

_DAY_WORDS: dict[str, tuple[int, ...]] = {
    **{name: (index,) for index, name in enumerate(WEEKDAYS)},
    **{name + "s": (index,) for index, name in enumerate(WEEKDAYS)},
    **{name[:3]: (index,) for index, name in enumerate(WEEKDAYS)},
    "day": tuple(range(7)),
    "daily": tuple(range(7)),
    "weekday": tuple(range(5)),
    "weekdays": tuple(range(5)),
}
_AT_RE = re.compile(r"^(?:every\s+)?(?P<day>[a-z]+)\s+(?:at\s+)?(?P<time>\d\S*)$")
_EVERY_RE = re.compile(r"^every\s+(?:(?P<count>\d+)\s+)?(?P<unit>[a-z]+?)s?$")
_TIME_RE = re.compile(r"^(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2}))?$")


class ScheduleSpecError(SheetsyncError, ValueError):
    """A spec that is not one of the forms above; the message says which forms are."""

    exit_code = ExitCode.CONFIG


@dataclass(frozen=True)
class AtTime:
    """At a wall-clock time on some days of the week ("monday 07:00", "every day 06:30")."""

    text: str
    days: tuple[int, ...]  # 0 = Monday, as date.weekday()
    at: time

    @property
    def at_text(self) -> str:
        """The time as the `schedule` library's `.at()` wants it: HH:MM or HH:MM:SS."""
        return self.at.strftime("%H:%M:%S" if self.at.second else "%H:%M")

    def _slot(self, day: datetime, tz: ZoneInfo) -> datetime:
        # fold=0: a time skipped by DST resolves one hour later, a repeated one to its first occurrence.
        return datetime.combine(day.date(), self.at, tzinfo=tz).astimezone(UTC)

    def previous(self, now: datetime, tz: ZoneInfo) -> datetime:
        """The latest slot at or before `now` (UTC)."""
        local = now.astimezone(tz)
        for back in range(8):
            day = local - timedelta(days=back)
            if day.weekday() in self.days and (slot := self._slot(day, tz)) <= now:
                return slot
        raise AssertionError("a weekly slot is never more than 8 days back")

    def next(self, now: datetime, tz: ZoneInfo) -> datetime:
        """The first slot after `now` (UTC)."""
        local = now.astimezone(tz)
        for ahead in range(9):
            day = local + timedelta(days=ahead)
            if day.weekday() in self.days and (slot := self._slot(day, tz)) > now:
                return slot
        raise AssertionError("a weekly slot is never more than 8 days ahead")

    def covered(self, last_success: datetime | None, now: datetime, tz: ZoneInfo) -> bool:
        """Whether a run that started at `last_success` already did the latest slot."""
        return last_success is not None and last_success >= self.previous(now, tz)

    def due_since(self, last_success: datetime | None, now: datetime, tz: ZoneInfo) -> datetime:
        """When the run that is due (not covered) became due: the latest slot."""
        return self.previous(now, tz)


@dataclass(frozen=True)
class Every:
    """A fixed interval ("every 10 minutes"), counted from the last run, not from the clock.

    Meant for short test schedules and polling; business schedules read better as times.
    """

    text: str
    count: int
    unit: str  # second | minute | hour

    @property
    def interval(self) -> timedelta:
        return timedelta(seconds=self.count * UNITS[self.unit])

    def next(self, now: datetime, tz: ZoneInfo) -> datetime:
        """When a run starting now would be followed by the next one."""
        return now + self.interval

    def covered(self, last_success: datetime | None, now: datetime, tz: ZoneInfo) -> bool:
        return last_success is not None and now - last_success < self.interval

    def due_since(self, last_success: datetime | None, now: datetime, tz: ZoneInfo) -> datetime:
        return now if last_success is None else last_success + self.interval


Spec = AtTime | Every


def parse_spec(text: str) -> Spec:
    """One schedule entry; raises ScheduleSpecError with a message fit for the user."""
    words = " ".join(text.lower().split())
    if (every := _EVERY_RE.match(words)) and every["unit"] in _UNIT_WORDS:
        count, unit = int(every["count"] or 1), _UNIT_WORDS[every["unit"]]
        if count < 1:
            raise ScheduleSpecError(f"{text!r}: the interval must be at least 1 {unit}")
        return Every(text, count, unit)
    at = _AT_RE.match(words)
    if at is None:
        raise ScheduleSpecError(f"{text!r} is not a schedule: use e.g. {EXAMPLES}")
    day = at["day"]
    if day not in _DAY_WORDS:
        hint = did_you_mean(day, [*WEEKDAYS, "day", "weekdays"]) or f"; use e.g. {EXAMPLES}"
        raise ScheduleSpecError(f"{text!r}: {day!r} is not a day of the week, 'day' or 'weekdays'{hint}")
    clock = _TIME_RE.match(at["time"])
    if clock is None or int(clock["h"]) > 23 or int(clock["m"]) > 59 or int(clock["s"] or 0) > 59:
        raise ScheduleSpecError(f"{text!r}: {at['time']!r} is not a time of day like 07:00 (24-hour clock)")
    return AtTime(text, _DAY_WORDS[day], time(int(clock["h"]), int(clock["m"]), int(clock["s"] or 0)))
