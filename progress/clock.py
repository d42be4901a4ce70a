"""Clock vocabulary of the core (reminder, check-in and leaderboard times): weekday names and "HH:MM" parsing."""

from __future__ import annotations

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_hhmm(value: str) -> tuple[int, int] | None:
    """"9:30" / "09:30" → (9, 30); anything else → None."""
    hours, sep, minutes = value.strip().partition(":")
    if not sep or not hours.isdigit() or not minutes.isdigit() or len(minutes) != 2 or len(hours) > 2:
        return None
    h, m = int(hours), int(minutes)
    return (h, m) if 0 <= h < 24 and 0 <= m < 60 else None
