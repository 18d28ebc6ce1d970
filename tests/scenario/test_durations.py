"""Durations as files write them."""

from __future__ import annotations

import pytest

from simulator.scenario.durations import format_clock, format_duration, parse_duration


@pytest.mark.parametrize(
    ("written", "seconds"),
    [
        ("500ms", 0.5),
        ("5s", 5.0),
        ("2m", 120.0),
        ("1h", 3600.0),
        ("1d", 86400.0),
        ("1h30m", 5400.0),
        ("1.5s", 1.5),
        (" 2 h ", 7200.0),
        ("30", 30.0),
        (7, 7.0),
        (0.25, 0.25),
    ],
)
def test_parse_duration(written: str | float, seconds: float) -> None:
    assert parse_duration(written) == seconds


@pytest.mark.parametrize("written", ["soon", "5 parsecs", "1w", "", "-1s", True, None, [1]])
def test_parse_duration_rejects_with_a_hint(written: object) -> None:
    with pytest.raises(ValueError, match=r"500ms, 5s, 2m, 1h, 1d|zero or more"):
        parse_duration(written)


def test_parse_duration_rejects_negative_numbers() -> None:
    with pytest.raises(ValueError, match="zero or more seconds; got -3"):
        parse_duration(-3)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.5, "500ms"), (5, "5s"), (90.5, "1m30.5s"), (3600, "1h"), (93784, "1d2h3m4s"), (0, "0s")],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def test_format_clock() -> None:
    assert format_clock(0) == "+00:00:00.000"
    assert format_clock(5.25) == "+00:00:05.250"
    assert format_clock(86400 + 7200.5) == "+1d 02:00:00.500"
