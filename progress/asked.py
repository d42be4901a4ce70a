"""What a member asks comes back as their review: the rules and the wording (the queries are in the repository,
the selection in `Progress.asked_check`).

- An answer that cites a section of a topic with quiz questions the member can get (their level and below, their
  track at Level 4) remembers that topic with its origin: the answer and the member's local date ("asked on Mon
  7 Dec"). A refused answer remembers nothing; the first origin of a topic stays.
- One to three local days later the daily DM or the next `quiz` brings one question on it ("On Monday you asked
  about PSI — quick check?"), at most one such question a day (a unique key in the database). From then on FSRS
  schedules the question like any other card. A topic whose answer the member rated 👎 never comes back, and
  none does while the member has turned it off (`nudges asked off`).

A leaf module: it imports nothing of progress.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

ASKED_MIN_DAYS = 1
ASKED_MAX_DAYS = 3
"""A topic asked on day D comes back on D+1 … D+3 (the member's local dates); later it is not brought up."""


@dataclass(frozen=True)
class AskedOrigin:
    """Why a quiz question is asked: the member asked about its topic on `asked_on`."""

    topic: str
    title: str
    asked_on: date
    today: date

    @property
    def when(self) -> str:
        """"On Monday" within the last week, else "On Mon 7 Dec"."""
        days = (self.today - self.asked_on).days
        return f"On {self.asked_on:%A}" if 0 < days < 7 else f"On {self.asked_on:%a} {self.asked_on.day} " \
                                                                f"{self.asked_on:%b}"

    @property
    def line(self) -> str:
        return f"{self.when} you asked about {self.title} — quick check?"


def origin_text(asked_on: date) -> str:
    """"asked on Mon 7 Dec"."""
    return f"asked on {asked_on:%a} {asked_on.day} {asked_on:%b}"
