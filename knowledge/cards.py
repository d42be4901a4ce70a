"""Guidance cards: answers built from the catalogue and the member's state, ranked beside the sections.

"Where do I start?", "where should I be after 8 months?", "which track for an infra person?", "is 5 hours a
week enough?" have exact answers in `catalogue.yaml`, not in any one paragraph of the content. Each kind of
such answer is a card (`cards.yaml`: title, what it answers, example questions); `rank.py` scores every card
beside the retrieved sections with one model and the best candidate answers. This module only *renders* a
card for a message: which card answers is never decided here.

Inside a card, what the message is about is chosen by meaning, not by phrases: the background nearest to
what the member wrote about themselves, the track, certification, project, resource or habit group nearest
to the message (each table has a "none of these" entry, so a message that names none gets the general
answer). Numbers come from the message's slots (`understand.Slots`: "8 months", "5 hrs a week", "level 3").
Everything personal comes from what is known: a level is claimed only when it was placed or set
(`MemberContext.known_level`) or the member says it; otherwise the card says what is known and offers the
placement quiz. Everything curricular comes from the catalogue; this module holds only the wording.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from errors import UserError
from knowledge import package_dir
from knowledge.catalogue import (
    Catalogue,
    Certification,
    Level,
    PortfolioProject,
    Resource,
    SectionRef,
    Track,
    load_yaml_model,
)
from knowledge.lexical import tokenize
from knowledge.member import MemberContext
from knowledge.understand import Understood

Encode = Callable[[list[str]], np.ndarray]


# ----- the card file (data) -----
class CardSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = Field(min_length=1)
    about: str = Field(min_length=1)
    examples: tuple[str, ...] = Field(min_length=1)


class _CardFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    cards: dict[str, CardSpec]


CARD_IDS = ("start", "timeline", "duration", "contents", "track", "certification", "project", "time_budget",
            "habits", "next", "readiness", "resources", "goals", "progress", "sources")
"""Every card this module can render, in a fixed order (the fitted model's card features follow it)."""


def load_cards(path: Path | None = None) -> dict[str, CardSpec]:
    path = path or package_dir() / "cards.yaml"
    cards = load_yaml_model(path, _CardFile, "cards").cards
    if set(cards) != set(CARD_IDS):
        missing, unknown = sorted(set(CARD_IDS) - set(cards)), sorted(set(cards) - set(CARD_IDS))
        raise UserError(f"{path}: cards must be exactly {', '.join(CARD_IDS)}"
                        + (f"; missing {', '.join(missing)}" if missing else "")
                        + (f"; unknown {', '.join(unknown)}" if unknown else ""))
    return {card: cards[card] for card in CARD_IDS}


@lru_cache(maxsize=1)
def card_specs() -> dict[str, CardSpec]:
    return load_cards()


# ----- what a rendered card is -----
@dataclass(frozen=True)
class Paragraph:
    text: str
    section: SectionRef | None = None
    """The content section the paragraph comes from (cited as [n])."""
    detail: str = ""
    """A name whose own sentences in that section the answer adds (what the content says of a book)."""
    lead_words: int = 0
    """Add the section's own opening sentences, up to about this many words (the readiness checks)."""


@dataclass(frozen=True)
class Card:
    id: str
    paragraphs: tuple[Paragraph, ...]
    next_step: str = ""
    subject: str = ""
    """The thing the answer names first (e.g. "Track E — MLOps & Platform Engineering")."""


@dataclass(frozen=True)
class CardContext:
    """What a card is rendered from: the understood message, the member and the message's embedding."""

    u: Understood
    member: MemberContext | None
    vector: np.ndarray
    """The message's embedding (its standalone form in a thread), normalised."""

    @property
    def previous_sources(self) -> tuple[tuple[str, str], ...]:
        """(section, source) of the previous answer's citations."""
        return tuple((c.section, c.source) for c in self.u.previous)

    @property
    def text(self) -> str:
        """The words entities are matched on: the message's search, with the earlier question in a thread."""
        return self.u.main


# ----- wording helpers -----
def _titles(items: Iterable[str]) -> str:
    items = list(items)
    return ", ".join(items[:-1]) + (" and " if len(items) > 1 else "") + items[-1] if items else ""


def _track_name(track: Track) -> str:
    return f"Track {track.id} — {track.title}"


def _level_name(level: Level) -> str:
    return f"Level {level.number} — {level.name} ({level.duration})"


def _level_contents(level: Level) -> str:
    if level.modules:
        return _titles(m.title for m in level.modules)
    return "one specialization track: " + _titles(f"{t.id} {t.title}" for t in level.tracks)


def _cert_line(cert: Certification) -> str:
    return (f"{cert.title} ({cert.difficulty}, {cert.study_months[0]}-{cert.study_months[1]} months of study): "
            f"covers {_titles(cert.topics)}, and fits after Level {cert.fits_after_level}.")


def _cumulative(cat: Catalogue) -> list[tuple[Level, float, float]]:
    """Each level with the months by which it is done, fastest and slowest: each level's range is the time
    it takes on its own (content/overview.md), so the ends add up (Level 2 is done after 9-18 months)."""
    out, low, high = [], 0.0, 0.0
    for level in cat.levels:
        low, high = low + level.duration_months[0], high + level.duration_months[1]
        out.append((level, low, high))
    return out


def _path_total(cat: Catalogue) -> str:
    _, low, high = _cumulative(cat)[-1]
    return f"{low:g}-{high:g} months, about {int(low // 12)} to {-int(-high // 12)} years"


def _level_durations(cat: Catalogue) -> str:
    return ", ".join(f"Level {lv.number} {lv.duration}" for lv in cat.levels)


def weekly_hours(cat: Catalogue) -> tuple[float, float]:
    """The habits' total time per week, from their budgets (min/day, hours/week, hours/month)."""
    low = high = 0.0
    for group in cat.habits.values():
        factor = {"min/day": 7 / 60, "hours/week": 1.0, "hours/month": 12 / 52}.get(group.budget.unit, 0.0)
        low += group.budget.low * factor
        high += group.budget.high * factor
    return low, high


def scope_line(cat: Catalogue) -> str:
    """One line on what the mentor covers, from the catalogue (said with every refusal)."""
    levels = ", ".join(f"{lv.number} {lv.name}" for lv in cat.levels)
    tracks = sum(len(lv.tracks) for lv in cat.levels)
    return (f"I can help with the path's levels ({levels}, with {tracks} specialization tracks), its "
            "certifications, portfolio projects and learning habits.")


LEXICAL_WEIGHT = 0.5
"""How much the share of a message's words an entity's description uses adds to its cosine similarity."""
NONE = -1
"""An entity table's answer when the "none of these" entry is nearest."""

PLACEMENT_OFFER = "I don't know your level yet: take the placement quiz (`/mlpath quiz placement`) and I'll know."


@dataclass
class CardDeck:
    """Renders cards from the catalogue. `encode` is the embedding model (normalised vectors)."""

    catalogue: Catalogue
    encode: Encode
    specs: dict[str, CardSpec] = field(default_factory=card_specs)
    _tables: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    _words: dict[str, tuple[list[frozenset[str]], dict[str, float]]] = field(default_factory=dict, repr=False)

    # ----- entities by meaning -----
    @property
    def tracks(self) -> list[Track]:
        return [t for level in self.catalogue.levels for t in level.tracks]

    @property
    def resources(self) -> list[tuple[int, Resource]]:
        return [(level.number, r) for level in self.catalogue.levels for r in level.resources]

    def _table(self, name: str) -> np.ndarray:
        """The embedded descriptions of one entity table; row 0 is its "none of these" entry."""
        if name not in self._tables:
            cat = self.catalogue
            texts: list[str]
            if name == "background":
                texts = ["I want to learn machine learning, where do I start?"] + [
                    f"{b.title}: {', '.join(b.matches)}" for b in cat.guidance.backgrounds]
            elif name == "track":
                texts = ["which Level 4 track should I choose?"] + [
                    f"Track {t.id} {t.title}: {t.suits}. {', '.join(t.interests)}. "
                    f"{', '.join(x.title for x in t.topics)}" for t in self.tracks]
            elif name == "certification":
                texts = ["which certification should I take?"] + [
                    f"{c.title}: {', '.join(c.topics)}. {', '.join(c.interests)}" for c in cat.certifications]
            elif name == "project":
                texts = ["which portfolio project should I build?"] + [
                    f"{p.title}: {', '.join(p.requirements)}. {', '.join(p.interests)}" for p in cat.portfolio_projects]
            elif name == "resource":
                texts = ["which books and courses does the path recommend?"] + [
                    f"{r.title}" + (f" by {r.author}" if r.author else "") + f" ({r.kind}): {r.about}"
                    for _, r in self.resources]
            elif name == "level":
                texts = ["the learning path"] + [
                    f"Level {lv.number} {lv.name}: {_level_contents(lv)}. "
                    + ", ".join(t.covers or t.title for t in lv.topics()) for lv in cat.levels]
            elif name == "habits":
                texts = ["learning habits and routine"] + [
                    f"{cadence} habits: " + "; ".join(i.description for i in group.items)
                    for cadence, group in cat.habits.items()]
            elif name == "examples":
                texts = [example for spec in self.specs.values() for example in spec.examples]
            elif name == "about":
                texts = [f"{spec.title}: {spec.about}" for spec in self.specs.values()]
            else:
                raise KeyError(name)
            self._tables[name] = self.encode(texts)
            words = [frozenset(tokenize(text)) for text in texts[1:]]
            counts: dict[str, int] = {}
            for entity in words:
                for word in entity:
                    counts[word] = counts.get(word, 0) + 1
            idf = {w: float(np.log(len(words) / c)) for w, c in counts.items() if c < len(words)}
            self._words[name] = ([frozenset()] + words, idf)
        return self._tables[name]

    def _lexical(self, name: str, text: str) -> np.ndarray:
        """Per entity, the IDF-weighted share of the message's words (those the table uses at all) that the
        entity's description uses: "data scientist" names the Data Scientist background whatever else the
        message says ("…do I have to start from level 1?" is near the beginner's by meaning alone)."""
        self._table(name)
        words, idf = self._words[name]
        asked = [w for w in set(tokenize(text)) if w in idf]
        total = sum(idf[w] for w in asked)
        if not total:
            return np.zeros(len(words))
        return np.array([sum(idf[w] for w in asked if w in entity) / total for entity in words])

    def nearest(self, name: str, vector: np.ndarray, among: Sequence[int] | None = None, text: str = "") -> int:
        """Index (0-based) of the entity nearest to the message (by meaning, plus the share of its words the
        entity's description uses), or NONE when "none of these" is nearest. `among` limits the choice to
        those entities (the two tracks a member names)."""
        sims = self._table(name) @ vector + (LEXICAL_WEIGHT * self._lexical(name, text) if text else 0.0)
        if among is not None:
            return max(among, key=lambda i: float(sims[i + 1])) if among else NONE
        best = int(np.argmax(sims))
        return best - 1 if best > 0 else NONE

    def example_similarity(self, vector: np.ndarray) -> np.ndarray:
        """(cards, 2): per card, the best and the mean of the three best similarities to its examples."""
        sims = self._table("examples") @ vector
        out = np.zeros((len(CARD_IDS), 2), dtype=np.float32)
        start = 0
        for i, spec in enumerate(self.specs.values()):
            part = np.sort(sims[start:start + len(spec.examples)])[::-1]
            start += len(spec.examples)
            out[i] = (part[0], part[:3].mean())
        return out

    def about_similarity(self, vector: np.ndarray) -> np.ndarray:
        return self._table("about") @ vector

    # ----- rendering -----
    def render(self, card: str, ctx: CardContext) -> Card | None:
        """The card for this message, or None when it has nothing to say to it (a goals card without a
        level, the sources of an answer that does not exist)."""
        return getattr(self, f"_{card}")(ctx)

    def _ref(self, key: str, **values: int) -> SectionRef | None:
        ref = self.catalogue.guidance.sections.get(key)
        if ref is None:
            return None
        return SectionRef(source=ref.source.format(**values), heading=ref.heading.format(**values))

    def _known_level(self, ctx: CardContext) -> tuple[int | None, str]:
        """(level, how it is known): placed or set, or said in the message ("I'm on level 2")."""
        member = ctx.member
        if member is not None and member.known_level:
            how = "the placement quiz put you at" if member.placement_level and not member.level else "you're at"
            return member.known_level, how
        return None, ""

    def _level_asked(self, ctx: CardContext) -> Level | None:
        level = ctx.u.slots.level
        return self.catalogue.level(level) if level is not None else None

    def _start(self, ctx: CardContext) -> Card:
        cat = self.catalogue
        backgrounds = cat.guidance.backgrounds
        which = self.nearest("background", ctx.vector, text=ctx.text)
        background = backgrounds[which] if which != NONE else None
        known, how = self._known_level(ctx)
        if known:
            level = cat.level(known)
            first = f"Start at {_level_name(level)}: {how} Level {level.number}, so work on {_level_contents(level)}."
        elif background is not None:
            level = cat.level(background.start_level)
            first = (f"Start at {_level_name(level)}. {background.advice} Level {level.number} covers "
                     f"{_level_contents(level)}.")
        else:
            level = cat.level(1)
            first = (f"Start at {_level_name(level)} unless you already know its topics: it covers "
                     f"{_level_contents(level)}. You don't have to start at the beginning: start where your gaps are.")
        assess = ("Assess your current level first: go through each level's topics and mark them \"can teach it\", "
                  "\"can use it\" or \"gap\"; your level is the highest one whose topics you can use.")
        step = ("Next step: take the placement quiz (`/mlpath quiz placement`) to confirm where you stand." if not known
                else f"Next step: take a quiz on a Level {level.number} topic to find your first gap.")
        return Card("start", (Paragraph(first, self._ref("start")), Paragraph(assess, self._ref("assess"))), step,
                    f"Level {level.number}")

    def _timeline(self, ctx: CardContext) -> Card | None:
        cat = self.catalogue
        months = ctx.u.slots.months
        member = ctx.member
        if months is None and member is not None and member.days_since_joined:
            months = member.days_since_joined / 30.4
        done_by = {lv.number: (low, high) for lv, low, high in _cumulative(cat)}
        paragraphs: list[Paragraph] = []
        typical: Level | None = None
        if months is not None:
            for lv, low, high in _cumulative(cat):
                typical = lv
                if months <= (low + high) / 2:
                    break
            assert typical is not None
            before = done_by.get(typical.number - 1)
            span = (f"after Level {typical.number - 1}, which is typically done after {before[0]:g}-{before[1]:g} "
                    "months" if before else "the first level")
            when = f"{months:g} months" if months < 24 or months % 12 else f"{months / 12:g} years"
            where = f"finishing Level {typical.number - 1} or starting" if before and before[0] <= months <= before[
                1] else "in"
            paragraphs.append(Paragraph(f"After {when} you'd typically be {where} {_level_name(typical)}, {span}: "
                                        f"{_level_contents(typical)}.", self._ref("timeline")))
        paragraphs.append(Paragraph(
            f"The durations are guides, not deadlines: each level takes its own time ({_level_durations(cat)}), so "
            f"the whole path adds up to {_path_total(cat)}; consistency matters more than speed.",
            None if paragraphs else self._ref("timeline")))
        known, _ = self._known_level(ctx)
        said = self._level_asked(ctx)
        at = known or (said.number if said is not None else None)
        if at is not None and typical is not None:
            ahead = at - typical.number
            pace = "on the path's pace" if ahead == 0 else ("ahead of the path's pace" if ahead > 0 else
                                                            "behind the path's pace, which is fine: it's a guide")
            paragraphs.append(Paragraph(f"You're at {_level_name(cat.level(at))}: {pace}."))
        elif at is None:
            paragraphs.append(Paragraph(PLACEMENT_OFFER))
        return Card("timeline", tuple(paragraphs),
                    "Next step: set a goal for the next 3 months from your level's topics.",
                    f"Level {typical.number}" if typical else "Pace")

    def _duration(self, ctx: CardContext) -> Card:
        cat = self.catalogue
        tracks = [t for t in self.tracks if t.id in ctx.u.slots.tracks]
        if len(tracks) == 1:
            track = tracks[0]
            level = next(lv for lv in cat.levels if track in lv.tracks)
            first = (f"{_track_name(track)} is a Level {level.number} track: the path plans {level.duration} for "
                     f"Level {level.number}, covering {_titles(t.title for t in track.topics)}.")
            return Card("duration", (Paragraph(first, self._ref("level", level=level.number)),),
                        "Next step: split it into monthly goals, one topic at a time.", _track_name(track))
        asked = self._level_asked(ctx)
        if asked is None:
            first = (f"Each level takes its own time ({_level_durations(cat)}), so the whole path adds up to "
                     f"{_path_total(cat)}. The ranges are guides, not deadlines.")
            return Card("duration", (Paragraph(first, self._ref("timeline")),),
                        "Next step: check which level you're at and plan from there.", "The whole path")
        level = asked
        first = f"{_level_name(level)}: the path plans {level.duration} for it, covering {_level_contents(level)}."
        if level.number > 1:
            low, high = {lv.number: (lo, hi) for lv, lo, hi in _cumulative(cat)}[level.number - 1]
            before = f"Levels 1-{level.number - 1}" if level.number > 2 else "Level 1"
            first += f" That is its own time, after {before} (typically {low:g}-{high:g} months)."
        first += f" The whole path adds up to {_path_total(cat)}."
        return Card("duration", (Paragraph(first, self._ref("level", level=level.number)),),
                    "Next step: split it into monthly goals, one module at a time.", f"Level {level.number}")

    def _contents(self, ctx: CardContext) -> Card:
        cat = self.catalogue
        level = self._level_asked(ctx)
        tracks = [t for t in self.tracks if t.id in ctx.u.slots.tracks]
        if level is None and not tracks:
            which = self.nearest("track", ctx.vector, text=ctx.text)
            tracks = [self.tracks[which]] if which != NONE else []
        if tracks and (level is None or level.number == len(cat.levels)):
            track = tracks[0]
            first = f"{_track_name(track)} covers {_titles(t.covers or t.title for t in track.topics)}."
            return Card("contents", (Paragraph(first, self._ref("track")),),
                        f"Next step: start with {track.topics[0].title}.", _track_name(track))
        if level is None:
            which = self.nearest("level", ctx.vector, text=ctx.text)
            level = cat.level(which + 1 if which != NONE else 1)
        first = f"{_level_name(level)} covers {_level_contents(level)}."
        return Card("contents", (Paragraph(first, self._ref("level", level=level.number)),),
                    "Next step: pick the module you know least and start there.", f"Level {level.number}")

    def _pick_track(self, ctx: CardContext) -> Track | None:
        named = [i for i, t in enumerate(self.tracks) if t.id in ctx.u.slots.tracks]
        if len(named) == 1:
            return self.tracks[named[0]]
        if len(named) > 1:  # "track C or D for me?": the one of the two the message describes
            return self.tracks[self.nearest("track", ctx.vector, among=named, text=ctx.text)]
        which = self.nearest("track", ctx.vector, text=ctx.text)
        if which != NONE:
            return self.tracks[which]
        background = self.nearest("background", ctx.vector, text=ctx.text)
        if background != NONE:
            advice = self.catalogue.guidance.backgrounds[background].advice
            for track in self.tracks:
                if f"Track {track.id}" in advice:
                    return track
        if ctx.member is not None and ctx.member.track:
            return next((t for t in self.tracks if t.id == ctx.member.track), None)
        return None

    def _track(self, ctx: CardContext) -> Card:
        track = self._pick_track(ctx)
        if track is None:
            lines = "; ".join(f"{_track_name(t)} ({t.suits})" for t in self.tracks)
            return Card("track", (Paragraph(f"Level 4 has {len(self.tracks)} tracks: {lines}.", self._ref("track")),
                                  Paragraph("Pick by job first, then by the projects you want to build, with interest "
                                            "as the tie-breaker.")),
                        "Next step: tell me your role or what you'd like to work on and I'll suggest one.",
                        "Level 4 tracks")
        level = next(lv for lv in self.catalogue.levels if track in lv.tracks)
        first = f"{_track_name(track)}: it suits {track.suits}. It covers {_titles(t.title for t in track.topics)}."
        second = (f"It's a Level {level.number} track ({level.duration}); it builds on Levels 1-{level.number - 1}, so "
                  "pick by your job first, then by the projects you want to build.")
        return Card("track", (Paragraph(first, self._ref("track")), Paragraph(second)),
                    f"Next step: read its first topic, {track.topics[0].title}.", _track_name(track))

    def _certification(self, ctx: CardContext) -> Card:
        cat = self.catalogue
        certs = list(cat.certifications)
        which = self.nearest("certification", ctx.vector, text=ctx.text)
        known, _ = self._known_level(ctx)
        level = known or ctx.u.slots.level
        current = [c for c in certs if not c.availability]
        if which != NONE:
            cert = certs[which]
            named = True
        else:
            reachable = [c for c in current if level is None or c.fits_after_level <= max(level, 2)]
            cert = min(reachable or current or certs, key=lambda c: (c.fits_after_level, c.study_months[0]))
            named = False
        certificates = self._ref("certification")
        paragraphs = [Paragraph(_cert_line(cert), SectionRef(source=certificates.source, heading=cert.title)
                                if certificates else None)]
        if cert.availability:
            paragraphs.append(Paragraph(f"Note: {cert.availability}"))
        others = [c for c in current if c is not cert]
        retired = [c for c in certs if c.availability and c is not cert]
        if not named or cert.availability:
            listed = "; ".join(f"{c.title} ({c.difficulty}, after Level {c.fits_after_level})" for c in others)
            text = f"Choose by role, level and the platform your team uses; the current ones are {listed}."
            if retired:
                text += " Retired: " + "; ".join(f"{c.title} ({c.availability})" for c in retired)
            paragraphs.append(Paragraph(text + " Prepare for one at a time.", certificates))
        if level is not None and level < cert.fits_after_level:
            paragraphs.append(Paragraph(f"At Level {level}, aim for it once you've finished Level "
                                        f"{cert.fits_after_level}."))
        return Card("certification", tuple(paragraphs),
                    "Next step: pair the certification with a project that proves you can apply it.", cert.title)

    def _project(self, ctx: CardContext) -> Card:
        cat = self.catalogue
        projects: list[PortfolioProject] = list(cat.portfolio_projects)
        which = self.nearest("project", ctx.vector, text=ctx.text)
        known, _ = self._known_level(ctx)
        level = ctx.u.slots.level or known
        if which != NONE:
            project = projects[which]
        else:
            track = ctx.member.track if ctx.member is not None else None
            project = min(projects, key=lambda p: (max(0, p.from_level - level) if level else 0,
                                                   bool(track) and track not in p.tracks, projects.index(p)))
        ref = self._ref("project")
        cited = SectionRef(source=ref.source, heading=project.title) if ref else None
        if level is not None and project.from_level > level:
            first = (f"{project.title} (from Level {project.from_level}): the portfolio projects start at Level "
                     f"{min(p.from_level for p in projects)}; at Level {level}, build your level's practical "
                     "exercises first.")
            return Card("project", (Paragraph(first, cited),),
                        "Next step: finish your level's exercises, then start the project.", project.title)
        paragraphs = [Paragraph(f"{project.title}: {_titles(project.requirements)}.", cited)]
        if which == NONE:
            paragraphs.append(Paragraph(f"The path lists {len(projects)} must-have portfolio projects: "
                                        + _titles(p.title for p in projects) + "."))
        return Card("project", tuple(paragraphs),
                    "Next step: ship one visible increment a week as your weekly habit.", project.title)

    def _time_budget(self, ctx: CardContext) -> Card:
        cat = self.catalogue
        budgets = "; ".join(f"{cad} habits {group.budget}" for cad, group in cat.habits.items())
        low, high = weekly_hours(cat)
        weekly = ctx.u.slots.hours_per_week
        habits = self._ref("habits")
        if weekly is None:
            first = f"The path's habits take {budgets}: roughly {low:.0f}-{high:.0f} hours a week if you do them all."
            return Card("time_budget", (Paragraph(first, habits, lead_words=60),),
                        "Next step: anchor the daily block to a fixed moment of your day.", "Time per week")
        said = ctx.u.slots.hours_said
        if weekly >= low:
            verdict = f"Yes, {said} is enough: the path's habits add up to roughly {low:.0f}-{high:.0f} hours a week"
        elif weekly >= low / 2:
            verdict = (f"{said.capitalize()} is a workable start but below the path's pace: its habits add up to "
                       f"roughly {low:.0f}-{high:.0f} hours a week, so expect the levels to take longer than their "
                       "guide durations")
        else:
            verdict = (f"{said.capitalize()} is well below the path's pace: its habits add up to roughly "
                       f"{low:.0f}-{high:.0f} hours a week, so the levels will take much longer than their guide "
                       "durations")
        busy = Paragraph("Consistency matters more than the size of any session: small daily blocks beat a weekend "
                         "marathon.", SectionRef(source="curriculum/next-steps.md", heading="Stay Consistent"),
                         detail="10-minute version")
        return Card("time_budget", (Paragraph(f"{verdict} ({budgets}).", habits), busy),
                    "Next step: spread the time over the week and keep your streak going.", "Time per week")

    def _habits(self, ctx: CardContext) -> Card:
        cat = self.catalogue
        which = self.nearest("habits", ctx.vector, text=ctx.text)
        cadences = list(cat.habits)
        chosen = [cadences[which]] if which != NONE else cadences
        habits = self._ref("habits")
        paragraphs = []
        for cadence in chosen:
            group = cat.habits[cadence]
            items = "; ".join(item.description for item in group.items)
            paragraphs.append(Paragraph(f"{cadence.capitalize()} habits ({group.budget}): {items}.",
                                        SectionRef(source=habits.source, heading=f"{cadence.capitalize()} habits")
                                        if habits else None))
        streak = ctx.member.streak if ctx.member is not None else None
        return Card("habits", tuple(paragraphs), "Next step: log today's habits to keep your streak."
                    + (f" Your streak is {streak} days: keep it going." if streak else ""), "Habits")

    def _after(self, ctx: CardContext, current: int | None, card: str) -> Card | None:
        cat = self.catalogue
        if current is None:  # nothing known: say so, and what the first step is
            start = cat.level(1)
            return Card(card, (Paragraph(PLACEMENT_OFFER),
                               Paragraph(f"If you're starting out, {_level_name(start)} comes first: "
                                         f"{_level_contents(start)}.", self._ref("start"))),
                        "Next step: take the placement quiz (`/mlpath quiz placement`), then ask me again.",
                        "Your level")
        if current >= len(cat.levels):
            track = self._pick_track(ctx)
            if track is not None:
                first = (f"{_track_name(track)}: keep going deep in your track's topics, "
                         f"{_titles(t.title for t in track.topics)}, and run them in production.")
                return Card(card, (Paragraph(first, self._ref("track")),
                                   Paragraph("Show it in a portfolio project and mentor others on it.")),
                            f"Next step: take a quiz on {track.topics[0].title} to find your weakest topic.",
                            _track_name(track))
            first = ("After Level 4 you keep going deep: run your track's techniques in production, build the "
                     "portfolio projects and mentor others.")
            return Card(card, (Paragraph(first, self._ref("project")),), "Next step: pick a portfolio project.",
                        "Beyond Level 4")
        nxt = cat.level(current + 1)
        first = f"{_level_name(nxt)}: it comes after Level {current} and covers {_level_contents(nxt)}."
        return Card(card, (Paragraph(first, self._ref("next", level=current, next=current + 1), lead_words=130),),
                    f"Next step: check you're ready for Level {nxt.number} with a quiz on Level {current} topics.",
                    f"Level {nxt.number}")

    def _next(self, ctx: CardContext) -> Card | None:
        """"finished level 2, what now?": the level after the one named, or after the member's own."""
        known, _ = self._known_level(ctx)
        current = ctx.u.slots.level or known
        if current is None and self._lexical("level", ctx.text).max() > 0:
            which = self.nearest("level", ctx.vector, text=ctx.text)  # "done with the foundations"
            current = which + 1 if which != NONE else None
        return self._after(ctx, current, "next")

    def _readiness(self, ctx: CardContext) -> Card | None:
        """"am I ready for level 3?": the checks before the level named, or before the member's next one."""
        named = ctx.u.slots.level
        known, _ = self._known_level(ctx)
        current = named - 1 if named and named > 1 else known
        return self._after(ctx, current, "readiness")

    def _resources(self, ctx: CardContext) -> Card | None:
        cat = self.catalogue
        resources = self.resources
        level_asked = ctx.u.slots.level
        which = self.nearest("resource", ctx.vector,
                             among=[i for i, (n, _) in enumerate(resources) if n == level_asked] if level_asked
                             else None, text=ctx.text)
        if which != NONE:
            number, chosen = resources[which]
        else:
            known, _ = self._known_level(ctx)
            by_meaning = self.nearest("level", ctx.vector, text=ctx.text)
            number = level_asked or (by_meaning + 1 if by_meaning != NONE else known or 1)
            chosen = None
        level = cat.level(number)
        if not level.resources:
            return None
        ordered = sorted(level.resources, key=lambda r: r is not chosen)
        top = ordered[0]
        best = f"{top.kind} \"{top.title}\"" + (f" by {top.author}" if top.author else "")
        rest = "; ".join(f"{r.kind} \"{r.title}\"" + (f" by {r.author}" if r.author else "") for r in ordered[1:])
        first = f"For {_level_name(level)} the path recommends the {best}" + (f"; also {rest}." if rest else ".")
        paragraphs = [Paragraph(first, self._ref("resources", level=number),
                                detail=top.title.split(":")[0].split(" (")[0])]
        if level.modules:
            paragraphs.append(Paragraph(f"Use them alongside the level's modules: {_level_contents(level)}."))
        return Card("resources", tuple(paragraphs),
                    "Next step: work through the main book alongside the matching modules, typing out the examples.",
                    f"Level {number} resources")

    def _goals(self, ctx: CardContext) -> Card | None:
        cat = self.catalogue
        known, _ = self._known_level(ctx)
        tracks = ctx.u.slots.tracks
        track = tracks[0] if len(tracks) == 1 else (ctx.member.track if ctx.member is not None else None)
        level = ctx.u.slots.level or (len(cat.levels) if len(tracks) == 1 else known)
        if level is None:
            return None
        months = ctx.u.slots.months
        horizons = [h for h, m in (("3m", 3), ("6m", 6), ("12m", 12)) if months == m] or ["3m", "6m", "12m"]
        ideas = [(h, cat.suggested_goals(level, track if level == len(cat.levels) else None, h))  # type: ignore[arg-type]
                 for h in horizons]
        ideas = [(h, texts) for h, texts in ideas if texts]
        if not ideas:
            return None
        where = f"Level {level}" + (f", Track {track}" if track and level == len(cat.levels) else "")
        first = f"Goals at {where}: " + "; ".join(f"{h[:-1]} months: {' / '.join(texts)}" for h, texts in ideas) + "."
        return Card("goals", (Paragraph(first, SectionRef(source="curriculum/next-steps.md", heading="Set Clear Goals"),
                                        lead_words=40),),
                    "Next step: write yours down with the `goal` command and share it with your manager or a peer.",
                    f"Goals at {where}")

    def _progress(self, ctx: CardContext) -> Card:
        cat = self.catalogue
        paragraphs = [Paragraph("Measure yourself against the path's success metrics, in three groups: "
                                + _titles(g.title.lower() for g in cat.success_metrics) + "."),
                      Paragraph("Check monthly, not daily.", SectionRef(source="curriculum/next-steps.md",
                                                                        heading="Stay Consistent"),
                                detail="three months ago")]
        for group in cat.success_metrics:
            items = "; ".join(item.text for item in group.items)
            paragraphs.append(Paragraph(f"{group.title}: {items}.",
                                        SectionRef(source="curriculum/success-metrics.md", heading=group.title)))
        known, _ = self._known_level(ctx)
        return Card("progress", tuple(paragraphs),
                    "Next step: mark each metric \"yes\", \"partly\" or \"not yet\""
                    + (f" at Level {known}" if known else "") + ", and turn one \"not yet\" into a 3-month goal.",
                    "Success metrics")

    def _sources(self, ctx: CardContext) -> Card:
        if not ctx.previous_sources:
            return Card("sources", (Paragraph("There's no earlier answer from the learning path in this conversation "
                                              "to give sources for. Ask me a question and I'll cite the sections I "
                                              "answer from."),), "", "Sources")
        listed = "; ".join(f"{section} ({source})" for section, source in ctx.previous_sources)
        return Card("sources", (Paragraph(f"My last answer comes from: {listed}."),), "", "Sources")
