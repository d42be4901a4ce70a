"""The structured catalogue of the learning path (levels → modules → topics, tracks, habits, …).

`catalogue.yaml` is the single source of truth that code reads; quizzes, levels and nudges use this module
rather than hard-coding curriculum facts. It is validated with pydantic when loaded: a broken file fails
with a message that names the file and the offending entry.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from errors import UserError
from knowledge import package_dir

M = TypeVar("M", bound=BaseModel)

Cadence = Literal["daily", "weekly", "monthly"]
TrackId = Literal["A", "B", "C", "D", "E"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Topic(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str
    covers: str | None = None
    """The learning path's own wording of the topic, where it differs from the short title."""


class Module(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str
    topics: tuple[Topic, ...] = Field(min_length=1)


class Track(_Strict):
    id: TrackId
    title: str
    suits: str = ""
    """Whom the track suits (roles), said in guidance answers ("which track for me?")."""
    interests: tuple[str, ...] = ()
    """Everyday words for the track's subject ("infra", "images"), matched in guidance questions."""
    topics: tuple[Topic, ...] = Field(min_length=1)

    @property
    def module_id(self) -> str:
        return f"track-{self.id.lower()}"


class Resource(_Strict):
    kind: Literal["book", "course", "article", "practice"]
    title: str
    author: str | None = None
    about: str = ""
    """What it is for, in a few words: how a question in members' words finds it by meaning."""


class Level(_Strict):
    number: int = Field(ge=1, le=4)
    name: str
    duration_months: tuple[int, int]
    modules: tuple[Module, ...] = ()
    tracks: tuple[Track, ...] = ()
    resources: tuple[Resource, ...] = ()

    @property
    def duration(self) -> str:
        low, high = self.duration_months
        return f"{low}-{high} months"

    def topics(self) -> Iterator[Topic]:
        for module in self.modules:
            yield from module.topics
        for track in self.tracks:
            yield from track.topics


class Budget(_Strict):
    low: int
    high: int
    unit: str

    def __str__(self) -> str:
        return f"{self.low}-{self.high} {self.unit}"


class HabitItem(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    description: str
    keywords: tuple[str, ...] = ()
    """Words members use when they report it in their own words ("I watched a PyData talk")."""


class HabitGroup(_Strict):
    budget: Budget
    items: tuple[HabitItem, ...] = Field(min_length=1)


class Habit(_Strict):
    """A habit as later features use it: id, cadence, description and its time budget."""

    id: str
    cadence: Cadence
    description: str
    time_budget: str
    keywords: tuple[str, ...] = ()


class Certification(_Strict):
    id: str
    title: str
    topics: tuple[str, ...]
    difficulty: Literal["Beginner", "Intermediate", "Advanced"]
    study_months: tuple[int, int]
    fits_after_level: int = Field(ge=1, le=4)
    """The level after which the path places the certification (content/certifications.md)."""
    availability: str | None = None
    """A note members must read before planning (a retired exam, a closed program)."""
    interests: tuple[str, ...] = ()
    """Everyday words for what the certification suits ("data engineer", "aws"), matched in guidance questions."""


class PortfolioProject(_Strict):
    id: str
    title: str
    interests: tuple[str, ...] = ()
    requirements: tuple[str, ...]
    from_level: int = Field(ge=1, le=4)
    """The level from which the mentor suggests the project."""
    tracks: tuple[TrackId, ...] = ()
    """Level 4 tracks the project suits; at Level 4 a project of the member's track is suggested first."""


Horizon = Literal["3m", "6m", "12m"]
HORIZONS: tuple[Horizon, ...] = ("3m", "6m", "12m")


class ChecklistItem(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    text: str


class Checklist(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str
    items: tuple[ChecklistItem, ...] = Field(min_length=1)


class GoalSuggestion(_Strict):
    level: int = Field(ge=1, le=4)
    track: TrackId | None = None
    horizon: Horizon
    text: str = Field(min_length=1, max_length=300)


class Background(_Strict):
    """A starting point by background (overview: "start where your gaps are")."""

    id: str
    title: str
    matches: tuple[str, ...] = Field(min_length=1)
    """Phrases (lower case) that name this background in a question."""
    start_level: int = Field(ge=1, le=4)
    advice: str


class SectionRef(_Strict):
    """A content section by source and last heading; `{level}` and `{next}` are filled in by the caller."""

    source: str
    heading: str


class Guidance(_Strict):
    backgrounds: tuple[Background, ...] = ()
    sections: dict[str, SectionRef] = {}


class Catalogue(_Strict):
    title: str
    levels: tuple[Level, ...]
    habits: dict[Cadence, HabitGroup]
    certifications: tuple[Certification, ...]
    portfolio_projects: tuple[PortfolioProject, ...]
    guidance: Guidance = Guidance()
    success_metrics: tuple[Checklist, ...] = ()
    goal_suggestions: tuple[GoalSuggestion, ...] = ()

    @model_validator(mode="after")
    def _check(self) -> Catalogue:
        numbers = [level.number for level in self.levels]
        if numbers != sorted(set(numbers)) or numbers != list(range(1, len(numbers) + 1)):
            raise ValueError(f"levels must be numbered 1..n in order, got {numbers}")
        seen: dict[str, str] = {}
        for level in self.levels:
            for topic in level.topics():
                if topic.id in seen:
                    raise ValueError(f"topic id {topic.id!r} is used twice")
                seen[topic.id] = topic.title
        module_ids = [m.id for level in self.levels for m in level.modules] + [
            t.module_id for level in self.levels for t in level.tracks
        ]
        if len(module_ids) != len(set(module_ids)):
            raise ValueError("module ids must be unique")
        habit_ids = [h.id for group in self.habits.values() for h in group.items]
        if len(habit_ids) != len(set(habit_ids)):
            raise ValueError("habit ids must be unique")
        for name, ids in (("certification", [c.id for c in self.certifications]),
                          ("portfolio project", [p.id for p in self.portfolio_projects]),
                          ("checklist item", [i.id for c in self.success_metrics for i in c.items])):
            if len(ids) != len(set(ids)):
                raise ValueError(f"{name} ids must be unique")
        tracks = {t.id for level in self.levels for t in level.tracks}
        for g in self.goal_suggestions:
            if g.track is not None and (g.level != max(numbers) or g.track not in tracks):
                raise ValueError(f"goal suggestion {g.text!r}: track {g.track} is not a track of level {g.level}")
        return self

    # ----- lookups used by the rest of the product -----
    def level(self, number: int) -> Level:
        for level in self.levels:
            if level.number == number:
                return level
        raise KeyError(number)

    def all_topics(self) -> Iterator[tuple[Level, Topic]]:
        for level in self.levels:
            for topic in level.topics():
                yield level, topic

    def topic(self, topic_id: str) -> Topic:
        for _, topic in self.all_topics():
            if topic.id == topic_id:
                return topic
        raise KeyError(topic_id)

    def module_topics(self, module_id: str) -> tuple[int, str | None, tuple[Topic, ...]] | None:
        """(level, track, topics) of a module or track id, or None for a non-module content file."""
        for level in self.levels:
            for module in level.modules:
                if module.id == module_id:
                    return level.number, None, module.topics
            for track in level.tracks:
                if track.module_id == module_id:
                    return level.number, track.id, track.topics
        return None

    def topic_module(self, topic_id: str) -> tuple[str, str]:
        """(module id, title) of the module or track that holds the topic."""
        for level in self.levels:
            for module in level.modules:
                if any(t.id == topic_id for t in module.topics):
                    return module.id, module.title
            for track in level.tracks:
                if any(t.id == topic_id for t in track.topics):
                    return track.module_id, track.title
        raise KeyError(topic_id)

    def certification(self, cert_id: str) -> Certification:
        for cert in self.certifications:
            if cert.id == cert_id:
                return cert
        raise KeyError(cert_id)

    def project(self, project_id: str) -> PortfolioProject:
        for project in self.portfolio_projects:
            if project.id == project_id:
                return project
        raise KeyError(project_id)

    def checklist_item(self, item_id: str) -> tuple[Checklist, ChecklistItem]:
        for checklist in self.success_metrics:
            for item in checklist.items:
                if item.id == item_id:
                    return checklist, item
        raise KeyError(item_id)

    def suggested_goals(self, level: int, track: str | None, horizon: Horizon) -> list[str]:
        """Suggestions for the member's level (and track at the last level; all tracks' when none is chosen)."""
        return [g.text for g in self.goal_suggestions if g.horizon == horizon and g.level == level
                and (g.track is None or track is None or g.track == track)]

    def habit_list(self, cadence: Cadence | None = None) -> list[Habit]:
        out: list[Habit] = []
        for cad, group in self.habits.items():
            if cadence is not None and cad != cadence:
                continue
            out.extend(
                Habit(id=h.id, cadence=cad, description=h.description, time_budget=str(group.budget),
                      keywords=h.keywords)
                for h in group.items
            )
        return out


def _error_line(path: Path, data: object, exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = []
    node = data
    for part in err["loc"]:
        where.append(str(part))
        try:
            node = node[part]  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            break
        if isinstance(node, dict) and "id" in node:
            where[-1] = f"{part} (id {node['id']})"
    location = " › ".join(where) or "top level"
    return f"{path}: {location}: {err['msg']}"


def load_yaml_model(path: Path, model: type[M], what: str) -> M:
    """A content file (YAML) validated by a pydantic model; any fault is one line naming the file and place."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{what} not found: {path}") from None
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: not valid YAML: {str(exc).splitlines()[0]}") from None
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as exc:
        raise UserError(_error_line(path, data, exc)) from None


def load_catalogue(path: Path | None = None) -> Catalogue:
    return load_yaml_model(path or package_dir() / "catalogue.yaml", Catalogue, "catalogue")


@lru_cache(maxsize=1)
def catalogue() -> Catalogue:
    """The bundled catalogue, loaded once."""
    return load_catalogue()


def catalogue_words(cat: Catalogue) -> frozenset[str]:
    """Every word the catalogue uses for what members say: backgrounds ("mle"), interests, habit keywords,
    titles. Words a member may use that the curriculum's prose never does."""
    phrases: list[str] = [m for b in cat.guidance.backgrounds for m in b.matches]
    for level in cat.levels:
        phrases.append(level.name)
        for track in level.tracks:
            phrases += [track.title, *track.interests]
    phrases += [t for c in cat.certifications for t in (c.title, *c.interests)]
    phrases += [t for p in cat.portfolio_projects for t in (p.title, *p.interests)]
    phrases += [k for group in cat.habits.values() for item in group.items for k in item.keywords]
    return frozenset(w for phrase in phrases for w in re.findall(r"[a-z0-9]+", phrase.lower()))
