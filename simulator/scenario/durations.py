"""Durations as scenario files write them: ``500ms``, ``5s``, ``2m``, ``1h``, ``1d``, or seconds.

>>> parse_duration("1h30m")
5400.0
>>> format_duration(90.5)
'1m30.5s'
"""

from __future__ import annotations

import math
import re
from typing import Final

__all__ = ["DURATION_PATTERN", "format_clock", "format_duration", "parse_duration"]

_UNITS: Final = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART: Final = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)")
DURATION_PATTERN: Final = r"^\s*(\d+(\.\d+)?\s*(ms|s|m|h|d)\s*)+$"
"""What a duration string looks like (for the JSON Schema)."""

_HINT: Final = "a duration is a number of seconds or a number with a unit: 500ms, 5s, 2m, 1h, 1d"


def parse_duration(value: object) -> float:
    """Seconds in ``value``: a number, or text like ``1h30m``. Raises ``ValueError`` with a hint."""
    if isinstance(value, bool):
        raise ValueError(f"{_HINT}; got {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"\d+(\.\d+)?", text):
            seconds = float(text)
        elif re.fullmatch(DURATION_PATTERN, text):
            seconds = sum(float(n) * _UNITS[unit] for n, unit in _PART.findall(text))
        else:
            raise ValueError(f"{_HINT}; got {value!r}")
    else:
        raise ValueError(f"{_HINT}; got {value!r}")
    if seconds < 0 or not math.isfinite(seconds):
        raise ValueError(f"a duration must be zero or more seconds; got {value!r}")
    return seconds


def format_duration(seconds: float) -> str:
    """The shortest readable form: ``500ms``, ``5s``, ``1m30.5s``, ``1d2h``."""
    if seconds < 1 and seconds != 0:
        return f"{seconds * 1000:g}ms"
    out = []
    rest = seconds
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("m", 60.0)):
        if rest >= size:
            count = int(rest // size)
            out.append(f"{count}{unit}")
            rest -= count * size
    if rest or not out:
        out.append(f"{round(rest, 3):g}s")
    return "".join(out)


def format_clock(seconds: float) -> str:
    """A virtual time offset for transcripts: ``+00:00:05.250``, ``+1d 02:00:00.000``."""
    millis = round(seconds * 1000)
    days, millis = divmod(millis, 86_400_000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    clock = f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"
    return f"+{days}d {clock}" if days else f"+{clock}"
