"""What the mentor knows about the member asking: a plain value the application layer fills from progress.

Every field is optional: the terminal without a database, an eval run and a brand-new member all ask
without context, and answers then speak to "you" in general.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class MemberContext:
    level: int | None = None
    """The member's current level (1-4) on the path."""
    track: str | None = None
    """The Level 4 track letter (A-E) they chose, if any."""
    placement_level: int | None = None
    """The level the placement quiz suggested, if they took it."""
    weak_topics: tuple[str, ...] = ()
    """Catalogue topic ids of quiz questions they recently got wrong."""
    streak: int | None = None
    """Current habit streak in days."""
    days_since_joined: int | None = None
    level_started_at: date | None = None

    @property
    def known_level(self) -> int | None:
        return self.level or self.placement_level
