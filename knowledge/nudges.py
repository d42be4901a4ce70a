"""Wording of the daily reminder and the weekly leaderboard post (knowledge/nudges.yaml), validated at load.

Variants are picked from a seed (the member and the local date), so the words change from day to day but a
re-run of the same day says the same thing.
"""

from __future__ import annotations

import string
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from errors import UserError
from knowledge import package_dir

Variants = list[str]

PLACEHOLDERS: dict[str, set[str]] = {
    "greeting": {"name"},
    "habit": {"habit"},
    "weekly_habit": {"habit"},
    "monthly_habit": {"habit"},
    "quiz_due": {"due"},
    "quiz_new": set(),
    "streak_on": {"streak"},
    "streak_off": set(),
    "encouragement": {"leader"},
    "empty_week": {"week"},
}


class Wording(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    greeting: Variants = Field(min_length=1)
    habit: Variants = Field(min_length=1)
    weekly_habit: Variants = Field(min_length=1)
    monthly_habit: Variants = Field(min_length=1)
    quiz_due: Variants = Field(min_length=1)
    quiz_new: Variants = Field(min_length=1)
    streak_on: Variants = Field(min_length=1)
    streak_off: Variants = Field(min_length=1)
    encouragement: Variants = Field(min_length=1)
    empty_week: Variants = Field(min_length=1)

    @model_validator(mode="after")
    def _placeholders(self) -> Wording:
        for group, allowed in PLACEHOLDERS.items():
            for text in getattr(self, group):
                used = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
                if used - allowed:
                    raise ValueError(f"{group}: “{text}” uses {sorted(used - allowed)}; allowed: {sorted(allowed)}")
        return self

    def pick(self, group: str, seed: int, **values: object) -> str:
        variants: list[str] = getattr(self, group)
        return variants[seed % len(variants)].format(**values)


def load_wording(path: Path | None = None) -> Wording:
    path = path or package_dir() / "nudges.yaml"
    try:
        return Wording.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError) as exc:
        raise UserError(f"{path}: cannot read the reminder wording ({exc})") from exc
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "file"
        raise UserError(f"{path}: {where}: {err['msg']}") from exc


@lru_cache(maxsize=1)
def wording() -> Wording:
    return load_wording()
