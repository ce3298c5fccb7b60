"""Durations as people write them in policies and on the command line: `3d`, `12h`, `90m`, `0`.

One grammar for every command that takes an age (audit's `--min-release-age`, the gate's
cooldown): a non-negative number, optionally with a decimal part, and a unit `d` (days, the
default when none is given, as audit has always read a bare number), `h` or `m` (minutes).
"""

from __future__ import annotations

import re
from datetime import timedelta

from custody.errors import CustodyError

_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([dhm]?)\s*")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


class DurationError(CustodyError, ValueError):
    """Text that is not a duration; the message says what is accepted."""


def parse_duration(text: str) -> timedelta:
    """`7d`, `36h`, `90m`, `0` or a bare number of days -> timedelta. Raises DurationError."""
    match = _DURATION.fullmatch(text)
    if match is None:
        raise DurationError(f"{text!r}: give a number of days, or e.g. 7d, 36h, 90m")
    amount, unit = float(match.group(1)), match.group(2) or "d"
    return timedelta(**{_UNITS[unit]: amount})


def format_duration(value: timedelta) -> str:
    """The shortest spelling in this grammar (`3d`, `36h`, `90m`, `0`; fractions of minutes as `0.5m`)."""
    seconds = value.total_seconds()
    if seconds == 0:
        return "0"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds / 60:g}m"
