"""Guidance questions, answered from the catalogue instead of by retrieval.

"Where do I start?", "where should I be after 8 months?", "is there a track for infra people?", "which
certification first?", "which portfolio project?", "is 5 hours a week enough?", "what next after Level 2?",
"how long does Level 3 take?", "books for MLOps?" have exact answers in `catalogue.yaml`; retrieval answers
them with whichever sentence happens to match. `route` recognises them (patterns on the member's wording)
and composes the answer from the catalogue and, when known, the asking member's own state
(`MemberContext`): the thing asked for first, then why, then the next step. Everything curricular comes
from the catalogue; this module holds only the wording of the answers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from knowledge.catalogue import (
    Background,
    Catalogue,
    Certification,
    Horizon,
    Level,
    PortfolioProject,
    Resource,
    SectionRef,
    Track,
    catalogue,
)
from knowledge.lexical import tokenize
from knowledge.member import MemberContext
from knowledge.query import refers_back


@dataclass(frozen=True)
class Paragraph:
    text: str
    section: SectionRef | None = None
    """The content section the paragraph comes from (cited as [n])."""
    detail: str = ""
    """A name whose own sentences in that section the answer adds (what the content says of a book)."""
    lead_words: int = 0
    """Add the section's own opening sentences, up to about this many words (the readiness checks)."""
    topical: bool = False
    """Also add the section's sentence on what the question names ("a book for the stats part?": the
    reading list's own word on statistics)."""


@dataclass(frozen=True)
class Guidance:
    intent: str
    paragraphs: tuple[Paragraph, ...]
    next_step: str = ""
    """The closing mentor line: what to do next."""
    subject: str = ""
    """The thing the answer names first (e.g. "Track E — MLOps & Platform Engineering")."""


_NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                 "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "eighteen": 18,
                 "twenty": 20, "half": 0.5, "couple": 2, "few": 3}
_NUM = r"(\d+(?:\.\d+)?|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|eighteen|" \
       r"twenty|half a|a couple of|a few)"


def _number(text: str) -> float:
    text = text.replace(" a", "").replace(" of", "").replace("a couple", "couple").replace("a few", "few")
    try:
        return float(text)
    except ValueError:
        return float(_NUMBER_WORDS.get(text.strip(), 1))


_DURATION = re.compile(rf"\b{_NUM}\s*(?:-|\s)?\s*(months?|mos?|years?|yrs?|weeks?)\b")
_HOURS = re.compile(rf"\b{_NUM}\s*(?:-|\s)?\s*(hours?|hrs?|h|minutes?|mins?)\b\s*(?:a|per|/|each|every)?\s*"
                    r"(day|daily|week|weekly|wk|month|monthly)?")
_LEVEL = re.compile(r"\b(?:level|lvl)\s*([1-4])\b|\bl([1-4])\b")


def _level_named(q: str) -> int | None:
    """The level a question names ("level 2", "lvl 3", "l1"), if any."""
    found = _LEVEL.search(q)
    return int(found.group(1) or found.group(2)) if found else None

_TRACK_LETTER = re.compile(r"\btrack\s+([a-e])\b")
_TRACK_CHOICE = re.compile(r"\btracks?\s+([a-e])\s*(?:or|vs\.?|versus|/|and)\s*(?:track\s+)?([a-e])\b")
""""track C or D for me?": two tracks to choose between."""

_TIMELINE_CUE = re.compile(
    r"how far|where should i be|where would i be|where will i be|what level (?:should|would|will|could|can)|"
    r"should i be (?:at|on|by|in)|expected (?:to be|level)|be at level|reach (?:level|by)|realistic|"
    r"(?:months?|years?|weeks?) (?:in|into|of (?:study|learning))|i'?m \S+ (?:months?|years?) in|"
    r"been (?:at it|learning|studying|doing this)|on track(?! [a-e]\b)|behind|ahead|after \S+ (?:months?|years?)")
_START = re.compile(
    r"where (?:do|should|can|would) i (?:start|begin)|where to (?:start|begin)|how (?:do|should|can) i "
    r"(?:start|begin|get started)|which level (?:should|do|would|can) i (?:start|begin|be)|what level (?:should|do) i "
    r"start|starting point|start(?:ing)? from scratch|complete beginner|total beginner|i'?m (?:new|a beginner)|"
    r"(?:skip|jump) (?:level|ahead|straight)|what should i (?:learn|study|do) first|first step|"
    r"(?:have|need|got) to start|start (?:from|at|with) (?:level|lvl|l)\s*\d|where (?:do|should) i (?:fit|slot in)|"
    r"where (?:do|should|can|would) i (?:jump|dive|get|come) in|(?:which|what) level (?:do|should|can) i (?:jump|dive) "
    r"(?:in|into)")
_TRACK = re.compile(
    r"(?:which|what|a|best|right|good) (?:specialization |specialisation |(?:level|lvl) ?4 )?tracks?\b|"
    r"tracks? (?:for|should|"
    r"would|to pick|to choose|suits?|fits?)|(?:pick|choose|select) (?:a |my |the )?(?:specialization|specialisation|"
    r"track)|which specialization|which specialisation|should i specialize|should i specialise|what should i "
    r"specialize|what should i specialise|is there a track|track (?:is|would be) (?:best|right|for)|"
    r"(?:out of|between|from) (?:tracks? )?a ?(?:-|–|to) ?e\b|" + _TRACK_CHOICE.pattern)
_CERT = re.compile(r"\bcert(?:s|ification|ifications|ificate|ificates)?\b|\bexams?\b")
_CERT_CUE = re.compile(r"which|what|should|first|next|recommend|worth|best|pick|choose|start|hard|difficult|"
                       r"is there|any|"
                       r"how long|study|prepare|get|take")
_PROJECT = re.compile(
    r"portfolio|(?:which|what) (?:project|projects) (?:should|to|would|for|do)|project ideas?|"
    r"what (?:should|could|can) i "
    r"build|side projects?|build (?:something )?to (?:show|impress|get hired|prove)|projects? (?:for|to get) (?:a )?"
    r"(?:job|hired|interview)|which project")
_BUDGET_CUE = re.compile(r"enough|sufficient|ok\b|okay|too (?:little|few|much)|realistic|can i|is it|will it|"
                         r"how much time|how many hours|how much should i (?:study|spend)|time commitment|"
                         r"per (?:day|week)|a (?:day|week)|only have")
_NEXT = re.compile(
    r"what(?:'s| is| comes)? (?:next|after)|what (?:should|do) i (?:do|learn|study|take|focus on|work on) "
    r"(?:next|after|now)|"
    r"(?:just |have |'ve )?(?:finished|completed|done with|passed) (?:level|the|my|with)|after (?:level \d|finishing)|"
    r"move on (?:from|after)|where do i go (?:from here|next)|then what")
_DURATION_CUE = re.compile(r"how long|how many (?:months|years|weeks)|how much time|duration|timeline|"
                           r"(?:takes?|last) (?:\w+ )?(?:months|years)")
_RESOURCES = re.compile(r"\bbooks?\b|\btextbooks?\b|\bcourses?\b|\bresources?\b|reading list|\b(?:to|should i|"
                        r"can i|could i) read\b|\bread (?:for|about|up on)\b|\breading\b|"
                        r"\bworth (?:buying|reading|it|the money)\b|\bmooc\b|\bmaterials?\b|\bfast\.?ai\b|"
                        r"\bkaggle learn\b|\bdatacamp\b")


def _level_of_text(cat: Catalogue, text: str) -> int | None:
    """The level a free-text subject belongs to ("MLOps" → 3, "pandas" → 1), by the catalogue's names."""
    explicit = _LEVEL.search(text)
    if explicit:
        return int(explicit.group(1) or explicit.group(2))
    asked = set(tokenize(text))
    if not asked:
        return None
    best: tuple[float, int] | None = None
    for level in cat.levels:
        name_terms = set(tokenize(level.name))
        score = 2.0 * len(asked & name_terms)
        for module in level.modules:
            score += len(asked & set(tokenize(module.title)))
        for topic in level.topics():
            score += 0.5 * len(asked & set(tokenize(f"{topic.title} {topic.covers or ''}")))
        if score > 0 and (best is None or score > best[0]):
            best = (score, level.number)
    return best[1] if best else None


def _level_of_resource(cat: Catalogue, text: str) -> int | None:
    """The level whose resource the question names ("is there a DataCamp course?" → 1)."""
    asked = set(tokenize(text))
    for level in cat.levels:
        for resource in level.resources:
            name = set(tokenize(resource.title.split(":")[0])) - {"course", "book"}
            surname = tokenize(resource.author)[-1:] if resource.author else []
            if (name and name <= asked) or (surname and surname[0] in asked):  # "that kleppmann book"
                return level.number
    return None


def _phrase_in(phrase: str, text: str) -> bool:
    """`phrase` occurs in `text` as whole words (a plural counts: "data engineers")."""
    return re.search(rf"(?<![a-z0-9]){re.escape(phrase.lower())}(?:s|es)?(?![a-z0-9])", text) is not None


def _background(cat: Catalogue, text: str) -> Background | None:
    """The asker's background the question names ("i'm a data engineer", "analyst here")."""
    return next((b for b in cat.guidance.backgrounds if any(_phrase_in(m, text) for m in b.matches)), None)


def _match_track(cat: Catalogue, text: str) -> Track | None:
    tracks = [t for level in cat.levels for t in level.tracks]
    choice = _TRACK_CHOICE.search(text)
    if choice:  # the one of the two that the rest of the question describes, or none yet
        named = {choice.group(1).upper(), choice.group(2).upper()}
        return _match_track_among([t for t in tracks if t.id in named], text[:choice.start()] + text[choice.end():])
    letter = _TRACK_LETTER.search(text)
    if letter:
        return next((t for t in tracks if t.id == letter.group(1).upper()), None)
    return _match_track_among(tracks, text)


def _match_track_among(tracks: list[Track], text: str) -> Track | None:
    scored = []
    for track in tracks:
        score = sum(2 for phrase in track.interests if _phrase_in(phrase, text))
        score += len(set(tokenize(track.title)) & set(tokenize(text)))
        if score:
            scored.append((score, track))
    scored.sort(key=lambda x: -x[0])
    return scored[0][1] if scored and (len(scored) == 1 or scored[0][0] > scored[1][0]) else None


def _track_name(track: Track) -> str:
    return f"Track {track.id} — {track.title}"


def _titles(items: Iterable[str]) -> str:
    items = list(items)
    return ", ".join(items[:-1]) + (" and " if len(items) > 1 else "") + items[-1] if items else ""


def _level_name(level: Level) -> str:
    return f"Level {level.number} — {level.name} ({level.duration})"


def _level_contents(level: Level) -> str:
    if level.modules:
        return _titles(m.title for m in level.modules)
    return "one specialization track: " + _titles(f"{t.id} {t.title}" for t in level.tracks)


def _ref(cat: Catalogue, key: str, **values: int) -> SectionRef | None:
    ref = cat.guidance.sections.get(key)
    if ref is None:
        return None
    return SectionRef(source=ref.source.format(**values), heading=ref.heading.format(**values))


# ----- the answers -----
def _start(cat: Catalogue, q: str, member: MemberContext | None) -> Guidance:
    background = _background(cat, q)
    placed = member.known_level if member else None
    if placed:
        level = cat.level(placed)
        how = "the placement quiz put you at" if member and member.placement_level and not member.level else \
            "you're at"
        first = f"Start at {_level_name(level)}: {how} Level {level.number}, so work on {_level_contents(level)}."
    elif background is not None:
        level = cat.level(background.start_level)
        first = (f"Start at {_level_name(level)}. {background.advice} Level {level.number} covers "
                 f"{_level_contents(level)}.")
    else:
        level = cat.level(1)
        first = (f"Start at {_level_name(level)} unless you already know its topics: it covers "
                 f"{_level_contents(level)}. You don't have to start at the beginning: start where your gaps are.")
    paragraphs = [Paragraph(first, _ref(cat, "start"))]
    assess = ("Assess your current level first: go through each level's topics and mark them \"can teach it\", "
              "\"can use it\" or \"gap\"; "
              "your level is the highest one whose topics you can use.")
    paragraphs.append(Paragraph(assess, _ref(cat, "assess")))
    step = ("Next step: take the placement quiz to confirm where you stand." if not placed else
            f"Next step: take a quiz on a Level {level.number} topic to find your first gap.")
    return Guidance("start", tuple(paragraphs), step, f"Level {level.number}")


def _cumulative(cat: Catalogue) -> list[tuple[Level, float, float]]:
    """Each level with the months by which it is done, fastest and slowest: each level's range is the time
    it takes on its own (content/overview.md), so the ends add up (Level 2 is done after 9-18 months)."""
    out, low, high = [], 0.0, 0.0
    for level in cat.levels:
        low, high = low + level.duration_months[0], high + level.duration_months[1]
        out.append((level, low, high))
    return out


def _timeline_level(cat: Catalogue, months: float) -> tuple[Level, bool]:
    """The level a member who started `months` ago would typically be in (at the middle of every range), and
    whether they'd be finishing it."""
    for level, low, high in _cumulative(cat):
        middle = (low + high) / 2
        if months <= middle:
            return level, months >= middle - 1
    return cat.levels[-1], True


def _path_total(cat: Catalogue) -> str:
    _, low, high = _cumulative(cat)[-1]
    return f"{low:g}-{high:g} months, about {int(low // 12)} to {-int(-high // 12)} years"


def _level_durations(cat: Catalogue) -> str:
    return ", ".join(f"Level {lv.number} {lv.duration}" for lv in cat.levels)


def _level_by_name(cat: Catalogue, q: str) -> Level | None:
    """The level a member says they are on ("still on foundations", "i'm on level 1")."""
    found = re.search(r"\b(?:on|in|at|doing|stuck (?:on|in))\s+(?:the\s+)?(?:level|lvl)\s*([1-4])\b", q)
    if found:
        return cat.level(int(found.group(1)))
    for level in cat.levels:
        name = level.name.lower().split(" and ")[0]
        if re.search(rf"\b(?:on|in|at|doing|stuck (?:on|in))\s+(?:the\s+)?{re.escape(name)}\b", q):
            return level
    return None


def _timeline(cat: Catalogue, q: str, member: MemberContext | None) -> Guidance | None:
    found = _DURATION.search(q)
    if found:
        months = _number(found.group(1)) * (12 if found.group(2).startswith(("y", "yr")) else
                                            0.25 if found.group(2).startswith("w") else 1)
    elif member and member.days_since_joined is not None:
        months = member.days_since_joined / 30.4
    else:
        return None
    level, finishing = _timeline_level(cat, months)
    done_by = {lv.number: (low, high) for lv, low, high in _cumulative(cat)}
    before = done_by.get(level.number - 1)
    span = (f"after Level {level.number - 1}, which is typically done after {before[0]:g}-{before[1]:g} months"
            if before else "the first level")
    when = f"{months:g} months" if months < 24 or months % 12 else f"{months / 12:g} years"
    where = "finishing" if finishing else "in"
    if before and before[0] <= months <= before[1]:
        where = f"finishing Level {level.number - 1} or starting"
    first = f"After {when} you'd typically be {where} {_level_name(level)}, {span}: {_level_contents(level)}."
    if finishing and level.number < len(cat.levels):
        nxt = cat.level(level.number + 1)
        first += f" Next comes {_level_name(nxt)}."
    paragraphs = [Paragraph(first, _ref(cat, "timeline")),
                  Paragraph("The durations are guides, not deadlines: each range is the time that level takes on its "
                            f"own ({_level_durations(cat)}), so the whole path adds up to {_path_total(cat)}; "
                            "consistency matters more than speed.")]
    said = _level_by_name(cat, q)
    if said is not None and not (member and member.known_level):
        member = MemberContext(level=said.number)
    if member and member.known_level:
        ahead = member.known_level - level.number
        where = "on the path's pace" if ahead == 0 else ("ahead of the path's pace" if ahead > 0 else
                                                         "behind the path's pace, which is fine: it's a guide")
        paragraphs.append(Paragraph(f"You're at {_level_name(cat.level(member.known_level))}: {where}."))
    return Guidance("timeline", tuple(paragraphs), "Next step: set a goal for the next 3 months from your level's "
                    "topics.", f"Level {level.number}")


_WHOLE_PATH = re.compile(r"\b(?:whole|entire|full) (?:path|thing)\b|\ball (?:the |four )?levels\b|start to finish|"
                         r"\bin total\b|\baltogether\b|\boverall\b")


def _duration(cat: Catalogue, q: str, member: MemberContext | None) -> Guidance | None:
    found = None if _WHOLE_PATH.search(q) else _LEVEL.search(q)  # "and the whole path?" after "level 3?"
    track = _match_track(cat, q) if found is None and _TRACK_WORD.search(q) else None
    if track is not None:
        level = next(lv for lv in cat.levels if track in lv.tracks)
        first = (f"{_track_name(track)} is a Level {level.number} track: the path plans {level.duration} for "
                 f"Level {level.number}, covering {_titles(t.title for t in track.topics)}.")
        return Guidance("duration", (Paragraph(first, _ref(cat, "level", level=level.number)),),
                        "Next step: split it into monthly goals, one topic at a time.", _track_name(track))
    if found is None:
        if not (_WHOLE_PATH.search(q) or re.search(r"the path|become an expert|expert", q)):
            return None
        first = (f"Each level takes its own time ({_level_durations(cat)}), so the whole path adds up to "
                 f"{_path_total(cat)}. The ranges are guides, not deadlines.")
        return Guidance("duration", (Paragraph(first, _ref(cat, "timeline")),),
                        "Next step: check which level you're at and plan from there.", "The whole path")
    level = cat.level(int(found.group(1) or found.group(2)))
    first = f"{_level_name(level)}: the path plans {level.duration} for it, covering {_level_contents(level)}."
    done_by = {lv.number: (low, high) for lv, low, high in _cumulative(cat)}
    if level.number > 1:
        low, high = done_by[level.number - 1]
        first += (f" That is its own time, after Levels 1-{level.number - 1} (typically {low:g}-{high:g} months "
                  "together).") if level.number > 2 else (
            f" That is its own time, after Level 1 ({low:g}-{high:g} months).")
    return Guidance("duration", (Paragraph(first, _ref(cat, "level", level=level.number)),),
                    "Next step: split it into monthly goals, one module at a time.", f"Level {level.number}")


def _track(cat: Catalogue, q: str, member: MemberContext | None) -> Guidance:
    track = _match_track(cat, q)
    if track is None:
        background = _background(cat, q)
        if background is not None:
            track = _match_track(cat, background.advice.lower())
    if track is None and member and member.track:
        track = _match_track(cat, f"track {member.track.lower()}")
    if track is None:
        all_tracks = [t for level in cat.levels for t in level.tracks]
        lines = "; ".join(f"{_track_name(t)} ({t.suits})" for t in all_tracks)
        first = f"Level 4 has {len(all_tracks)} tracks: {lines}."
        return Guidance("track", (Paragraph(first, _ref(cat, "track")),
                                  Paragraph("Pick by job first, then by the projects you want to build, with interest "
                                            "as the tie-breaker.")),
                        "Next step: tell me your role or what you'd like to work on and I'll suggest one.",
                        "Level 4 tracks")
    first = (f"{_track_name(track)}: it suits {track.suits}. It covers "
             f"{_titles(t.title for t in track.topics)}.")
    level = next(lv for lv in cat.levels if track in lv.tracks)
    second = (f"It's a Level 4 track ({level.duration}); it builds on Levels 1-3, so pick by your job first, "
              "then by the projects you want to build.")
    return Guidance("track", (Paragraph(first, _ref(cat, "track")), Paragraph(second)),
                    f"Next step: read its first topic, {track.topics[0].title}.", _track_name(track))


def _cert_line(cert: Certification) -> str:
    return (f"{cert.title} ({cert.difficulty}, {cert.study_months[0]}-{cert.study_months[1]} months of study): "
            f"covers {_titles(cert.topics)}, and fits after Level {cert.fits_after_level}.")


def _certification(cat: Catalogue, q: str, member: MemberContext | None) -> Guidance:
    asked = set(tokenize(re.sub(r"\bml\b", "machine learning", q)))  # "the databricks ml professional"
    named = [c for c in cat.certifications if _phrase_in(c.title, q) or
             len(set(tokenize(c.title)) & asked) >= 3]
    scored = sorted(((sum(2 for k in c.interests if _phrase_in(k, q)), c) for c in cat.certifications),
                    key=lambda x: -x[0])
    level = member.known_level if member else None
    track = _match_track(cat, q)
    if track is not None and scored[0][0] == 0:
        scored = sorted(((sum(2 for k in c.interests if any(_phrase_in(k, i) for i in track.interests)
                              or _phrase_in(k, track.title.lower())), c) for c in cat.certifications),
                        key=lambda x: -x[0])
    if named:
        cert = named[0]
    elif scored[0][0] > 0:
        cert = scored[0][1]
    else:
        reachable = [c for c in cat.certifications if level is None or c.fits_after_level <= max(level, 2)]
        cert = min(reachable or list(cat.certifications),
                   key=lambda c: (c.availability is not None, c.fits_after_level, c.study_months[0]))
    paragraphs = [Paragraph(_cert_line(cert), SectionRef(source=(_ref(cat, "certification") or SectionRef(
        source="", heading="")).source, heading=cert.title))]
    if cert.availability:
        paragraphs.append(Paragraph(f"Note: {cert.availability}"))
    others = [c for c in cat.certifications if c is not cert]
    if not named:
        paragraphs.append(Paragraph("Choose by role, level and the platform your team uses; the others are " +
                                    "; ".join(f"{c.title} ({c.difficulty}, after Level {c.fits_after_level})"
                                              for c in others) + ". Prepare for one at a time.",
                                    _ref(cat, "certification")))
    if level is not None and level < cert.fits_after_level:
        paragraphs.append(Paragraph(f"You're at Level {level}, so aim for it once you've finished Level "
                                    f"{cert.fits_after_level}."))
    return Guidance("certification", tuple(paragraphs),
                    "Next step: pair the certification with a project that proves you can apply it.", cert.title)


def _project(cat: Catalogue, q: str, member: MemberContext | None) -> Guidance:
    level = _level_named(q)
    if level is None and member is not None and _AT_MY_LEVEL.search(q):
        level = member.known_level
    # "which one can I start at level 2?": the projects open at the asker's level come first
    scored = sorted(((sum(2 for k in p.interests if _phrase_in(k, q)), i, p) for i, p in
                     enumerate(cat.portfolio_projects)),
                    key=lambda x: (max(0, x[2].from_level - level) if level is not None else 0, -x[0], x[1]))
    project: PortfolioProject = scored[0][2]
    if level is not None and project.from_level > level:  # none is open yet at Level 1
        first = (f"{project.title} (from Level {project.from_level}): the portfolio projects start at Level "
                 f"{project.from_level}; at Level {level}, build your level's practical exercises first.")
        ref = _ref(cat, "project")
        return Guidance("project", (Paragraph(first, SectionRef(source=ref.source, heading=project.title)
                                              if ref else None),),
                        "Next step: finish your level's exercises, then start the project.", project.title)
    if scored[0][0] == 0 and member and member.track:
        project = _match_project_for_track(cat, member.track) or project
    first = f"{project.title}: {_titles(project.requirements)}."
    ref = _ref(cat, "project")
    paragraphs = [Paragraph(first, SectionRef(source=ref.source, heading=project.title) if ref else None)]
    if scored[0][0] == 0:
        paragraphs.append(Paragraph(f"The path lists {len(cat.portfolio_projects)} must-have portfolio projects: "
                                    + _titles(p.title for p in cat.portfolio_projects) + "."))
    return Guidance("project", tuple(paragraphs),
                    "Next step: ship one visible increment a week as your weekly habit.", project.title)


_AT_MY_LEVEL = re.compile(r"\b(?:my|current) (?:level|lvl|stage)\b|\bat this (?:level|stage|point)\b|\balready\b|"
                          r"\bright now\b|\byet\b")


def _match_project_for_track(cat: Catalogue, track_id: str) -> PortfolioProject | None:
    track = _match_track(cat, f"track {track_id.lower()}")
    if track is None:
        return None
    for project in cat.portfolio_projects:
        if any(_phrase_in(k, " ".join(track.interests)) for k in project.interests):
            return project
    return None


def _weekly_hours(cat: Catalogue) -> tuple[float, float]:
    """The habits' total time per week, from their budgets (min/day, hours/week, hours/month)."""
    low = high = 0.0
    for group in cat.habits.values():
        unit = group.budget.unit
        factor = {"min/day": 7 / 60, "hours/week": 1.0, "hours/month": 12 / 52}.get(unit, 0.0)
        low += group.budget.low * factor
        high += group.budget.high * factor
    return low, high


BUDGET_WORDS = 60


def _time_budget(cat: Catalogue, q: str, member: MemberContext | None) -> Guidance | None:
    found = _HOURS.search(q)
    budgets = "; ".join(f"{cad} habits {group.budget}" for cad, group in cat.habits.items())
    low, high = _weekly_hours(cat)
    if found is None:
        first = (f"The path's habits take {budgets}: roughly {low:.0f}-{high:.0f} hours a week if you do them all.")
        # "how many hours is realistic?": the budgets, then how the content says to fit them in a week
        return Guidance("time_budget", (Paragraph(first, _ref(cat, "habits"), lead_words=BUDGET_WORDS),),
                        "Next step: anchor the daily block to a fixed moment of your day.", "Time per week")
    amount = _number(found.group(1))
    unit, per = found.group(2), (found.group(3) or "week")
    hours = amount / 60 if unit.startswith("m") else amount
    weekly = hours * (7 if per.startswith("d") else 12 / 52 if per.startswith("mo") else 1)
    said = f"{amount:g} {unit} a {'day' if per.startswith('d') else 'month' if per.startswith('mo') else 'week'}"
    if weekly >= low:
        verdict = f"Yes, {said} is enough: the path's habits add up to roughly {low:.0f}-{high:.0f} hours a week"
    elif weekly >= low / 2:
        verdict = (f"{said.capitalize()} is a workable start but below the path's pace: its habits add up to roughly "
                   f"{low:.0f}-{high:.0f} hours a week, so expect the levels to take longer than their guide durations")
    else:
        verdict = (f"{said.capitalize()} is well below the path's pace: its habits add up to roughly "
                   f"{low:.0f}-{high:.0f} hours a week, so the levels will take much longer than their guide durations")
    first = f"{verdict} ({budgets})."
    second = "Consistency matters more than the size of any session: small daily blocks beat a weekend marathon."
    # what the next steps say of a busy week: the 10-minute version, not a skipped day
    busy = Paragraph(second, SectionRef(source="curriculum/next-steps.md", heading="Stay Consistent"),
                     detail="10-minute version")
    return Guidance("time_budget", (Paragraph(first, _ref(cat, "habits")), busy),
                    "Next step: spread the time over the week and keep your streak going.", "Time per week")


_GOALS = re.compile(r"\bgoals?\b|\baim (?:for|at)\b|\bwhat should i (?:aim|achieve|target)\b")
_HORIZONS: tuple[tuple[Horizon, str], ...] = (("3m", r"\b(?:3|three) ?(?:months?|mo)\b|\bquarter\b"),
             ("6m", r"\b(?:6|six) ?(?:months?|mo)\b|\bhalf (?:a )?year\b"),
             ("12m", r"\b(?:12|twelve) ?(?:months?|mo)\b|\b(?:a|one|next|this) year\b|\byearly\b"))


def _goals(cat: Catalogue, q: str, member: MemberContext | None) -> Guidance | None:
    """"what's a good goal for the next 3 months? (on track B)": the catalogue's goal suggestions for the
    asker's level and track, for the horizon asked (all three when none is)."""
    letter = _TRACK_LETTER.search(q)
    track = letter.group(1).upper() if letter else (member.track if member else None)
    level = _level_named(q) or (4 if letter else member.known_level if member else None)
    if level is None:
        return None  # no level to suggest for: the Set Clear Goals section answers
    horizons = [h for h, pattern in _HORIZONS if re.search(pattern, q)] or [h for h, _ in _HORIZONS]
    ideas = [(h, cat.suggested_goals(level, track if level == len(cat.levels) else None, h)) for h in horizons]
    ideas = [(h, texts) for h, texts in ideas if texts]
    if not ideas:
        return None
    where = f"Level {level}" + (f", Track {track}" if track and level == len(cat.levels) else "")
    first = f"Goals at {where}: " + "; ".join(f"{h[:-1]} months: {' / '.join(texts)}" for h, texts in ideas) + "."
    ref = SectionRef(source="curriculum/next-steps.md", heading="Set Clear Goals")
    return Guidance("goals", (Paragraph(first, ref, lead_words=GOAL_WORDS),),
                    "Next step: write yours down with the `goal` command and share it with your manager or a peer.",
                    f"Goals at {where}")


GOAL_WORDS = 40
READINESS_WORDS = 130
"""How much of a level's "How to know you are ready" checks a what-next answer quotes."""
_READY = re.compile(r"\bready (?:for|to (?:move|start|go))\b|\b(?:am i|i'?m|im|i am) ready\b")


_READY_FOR = re.compile(r"\bready (?:\w+ ){0,3}?(?:for|to)\s+(?:the\s+)?(?:level|lvl)\s*([2-4])\b")


def _next(cat: Catalogue, q: str, member: MemberContext | None) -> Guidance | None:
    found = _LEVEL.search(q)
    current = int(found.group(1) or found.group(2)) if found else (member.known_level if member else None)
    target = _READY_FOR.search(q)
    if target:  # "am I ready for level 3?" names the level to come
        current = int(target.group(1)) - 1
    module_next = _next_module(cat, q) if not found else None
    if module_next is not None:
        done, following, in_level = module_next
        first = f"{following}: after {done}, it's the next module of {_level_name(in_level)}."
        return Guidance("next", (Paragraph(first, _ref(cat, "level", level=in_level.number)),),
                        f"Next step: take a quiz on {done} to make sure it stuck, then start {following}.", following)
    if current is None:
        return None
    if current >= len(cat.levels):
        track = _match_track(cat, f"track {member.track.lower()}") if member and member.track and not found else None
        if track is not None:
            first = (f"{_track_name(track)}: keep going deep in your track's topics, "
                     f"{_titles(t.title for t in track.topics)}, and run them in production.")
            return Guidance("next", (Paragraph(first, _ref(cat, "track")),
                                     Paragraph("Show it in a portfolio project and mentor others on it.")),
                            f"Next step: take a quiz on {track.topics[0].title} to find your weakest topic.",
                            _track_name(track))
        first = ("After Level 4 you keep going deep: run your track's techniques in production, build the portfolio "
                 "projects and mentor others.")
        return Guidance("next", (Paragraph(first, _ref(cat, "project")),), "Next step: pick a portfolio project.",
                        "Beyond Level 4")
    nxt = cat.level(current + 1)
    first = f"{_level_name(nxt)}: it comes after Level {current} and covers {_level_contents(nxt)}."
    return Guidance("next", (Paragraph(first, _ref(cat, "next", level=current, next=current + 1),
                                       lead_words=READINESS_WORDS),),
                    f"Next step: check you're ready for Level {nxt.number} with a quiz on Level {current} topics.",
                    f"Level {nxt.number}")


def _next_module(cat: Catalogue, q: str) -> tuple[str, str, Level] | None:
    asked = set(tokenize(q))
    for level in cat.levels:
        modules = list(level.modules)
        for i, module in enumerate(modules):
            terms = set(tokenize(module.title))
            if terms and terms <= asked and i + 1 < len(modules):
                return module.title, modules[i + 1].title, level
    return None


def _habits(cat: Catalogue, q: str, member: MemberContext | None) -> Guidance | None:
    """"what are the daily habits?": the habits of that cadence (or all) with their time budget."""
    cadences = [c for c in cat.habits if c in q] or list(cat.habits)
    paragraphs = []
    for cadence in cadences:
        group = cat.habits[cadence]
        items = "; ".join(item.description for item in group.items)
        paragraphs.append(Paragraph(f"{cadence.capitalize()} habits ({group.budget}): {items}.",
                                    SectionRef(source=(_ref(cat, "habits") or SectionRef(source="", heading="")).source,
                                               heading=f"{cadence.capitalize()} habits")))
    streak = f" Your streak is {member.streak} days: keep it going." if member and member.streak else ""
    return Guidance("habits", tuple(paragraphs), "Next step: log today's habits to keep your streak." + streak,
                    "Habits")


_HABITS = re.compile(r"\b(?:what|which|list|show)\b.*\bhabits?\b|\b(?:daily|weekly|monthly) habits?\b")


def _contents(cat: Catalogue, q: str, member: MemberContext | None) -> Guidance | None:
    """"what topics are in track C / level 2?": the track's topics or the level's modules."""
    track = _match_track(cat, q) if _TRACK_WORD.search(q) else None
    if track is not None:
        first = f"{_track_name(track)} covers {_titles(t.covers or t.title for t in track.topics)}."
        return Guidance("contents", (Paragraph(first, _ref(cat, "track")),),
                        f"Next step: start with {track.topics[0].title}.", _track_name(track))
    found = _LEVEL.search(q)
    if found is None:
        return None
    level = cat.level(int(found.group(1) or found.group(2)))
    first = f"{_level_name(level)} covers {_level_contents(level)}."
    return Guidance("contents", (Paragraph(first, _ref(cat, "level", level=level.number)),),
                    "Next step: pick the module you know least and start there.", f"Level {level.number}")


_TRACK_WORD = re.compile(r"\btracks?\b|recommend|nlp|vision|time series|forecast|mlops")
_CONTENTS = re.compile(r"\bwhat(?:'s| is| are)? (?:\w+ )?(?:topics|modules|in it|covered|inside)\b|"
                       r"\bwhat (?:does|do) .*\bcover\b|\b(?:topics|modules|syllabus) (?:are )?(?:in|of)\b|"
                       r"\bwhat(?:'s| is) in (?:it|track|level)")


_OTHER_RESOURCE = re.compile(r"\b(?:datasets?|data ?sets?|librar(?:y|ies)|libs?|packages?|frameworks?|papers?|"
                             r"tools?|vector (?:db|database)s?|subreddits?|communit(?:y|ies)|discord|forums?)\b")
"""Resources the catalogue's level lists do not hold: datasets, libraries and papers are named in the
sections' own text ("How to practise", citations), so such a question goes to retrieval."""


def _resources(cat: Catalogue, q: str, member: MemberContext | None,
               chosen: tuple[int, Resource] | None = None) -> Guidance | None:
    """The level's resources, the one the question asks about first (`chosen`: found by meaning)."""
    named = _level_of_resource(cat, q)
    if chosen is None and named is None and _OTHER_RESOURCE.search(q):
        return None
    number = named or _level_named(q) or (
        chosen[0] if chosen else None) or _level_of_text(cat, q) or (member.known_level if member else None)
    if number is None:
        return None
    level = cat.level(number)
    if not level.resources:
        return None
    asked = set(tokenize(q))
    kinds = {r.kind for r in level.resources if re.search(rf"\b{r.kind}s?\b", q)}  # "a book for…" wants a book
    ordered = sorted(level.resources, key=lambda r: (
        bool(kinds) and r.kind not in kinds, not (chosen and chosen[1] is r),
        -len(set(tokenize(f"{r.title} {r.author or ''}")) & asked)))
    top = ordered[0]
    best = f"{top.kind} \"{top.title}\"" + (f" by {top.author}" if top.author else "")
    rest = "; ".join(f"{r.kind} \"{r.title}\"" + (f" by {r.author}" if r.author else "") for r in ordered[1:])
    first = f"For {_level_name(level)} the path recommends the {best}" + (f"; also {rest}." if rest else ".")
    when = f"Use them alongside the level's modules: {_level_contents(level)}." if level.modules else ""
    return Guidance("resources", (Paragraph(first, _ref(cat, "resources", level=number),
                                            detail=top.title.split(":")[0].split(" (")[0], topical=True),
                                  *((Paragraph(when),) if when else ())),
                    "Next step: work through the main book alongside the matching modules, typing out the examples.",
                    f"Level {number} resources")


def _progress(cat: Catalogue, q: str, member: MemberContext | None) -> Guidance | None:
    """"how do I know I'm getting better?": the path's success metrics, by group."""
    paragraphs = []
    for group in cat.success_metrics:
        items = "; ".join(item.text for item in group.items)
        paragraphs.append(Paragraph(f"{group.title}: {items}.",
                                    SectionRef(source="curriculum/success-metrics.md", heading=group.title)))
    first = Paragraph("Measure yourself against the path's success metrics, in three groups: " +
                      _titles(g.title.lower() for g in cat.success_metrics) + ".")
    # how often, and against what: the next steps' own advice ("compare with three months ago")
    often = Paragraph("Check monthly, not daily.", SectionRef(source="curriculum/next-steps.md",
                                                              heading="Stay Consistent"), detail="three months ago")
    level = f" at Level {member.known_level}" if member and member.known_level else ""
    return Guidance("progress", (first, often, *paragraphs),
                    f"Next step: mark each metric \"yes\", \"partly\" or \"not yet\"{level}, and turn one "
                    "\"not yet\" into a 3-month goal.", "Success metrics")


_EXPLAIN = re.compile(r"^(?:(?:can|could) you |pls |please )?(?:explain|eli5|what(?:'s| is| are| does)|whats|define|"
                      r"how (?:does|do) (?!i\b|we\b))")
"""A request to explain something ("explain bias vs variance like i'm new to this") is not a request for
where to start, whatever it says of the asker."""

_CONCEPT = re.compile(r"\b(?:train|training|fit|run|converge|epoch|query|job|inference|pipeline|dag|retrain|drift|"
                      r"exercise|project)\b")

# Order matters: the first intent whose pattern matches and whose answer applies wins.
_ROUTES: tuple[tuple[str, Callable[[str], bool], Callable[[Catalogue, str, MemberContext | None], Guidance | None]],
               ...] = (
    ("time_budget", lambda q: bool(_HOURS.search(q) and _BUDGET_CUE.search(q)) or
     bool(re.search(r"how (?:much time|many (?:hours|hrs?))", q) and re.search(r"\b(?:day|week|month)\b", q)),
     _time_budget),
    ("goals", lambda q: bool(_GOALS.search(q)), _goals),
    # "4 months into level 1, how do I know I'm ready for ML?" asks for the readiness checks, not the pace
    ("next", lambda q: bool(_READY.search(q)), _next),
    ("timeline", lambda q: bool(_DURATION.search(q) and _TIMELINE_CUE.search(q)), _timeline),
    ("certification", lambda q: bool(_CERT.search(q) and _CERT_CUE.search(q)), _certification),
    ("track", lambda q: bool(_TRACK.search(q)), _track),
    ("project", lambda q: bool(_PROJECT.search(q)), _project),
    ("habits", lambda q: bool(_HABITS.search(q)) and not re.search(r"\bhow (?:do|can|should)\b|\bwhy\b", q),
     _habits),
    # "beginner here, what books for level 1?" asks for the books, not for where to start
    ("resources", lambda q: bool(_RESOURCES.search(q)) and not _CONCEPT.search(q), _resources),
    ("start", lambda q: bool(_START.search(q)) and not _EXPLAIN.search(q), _start),
    ("contents", lambda q: bool(_CONTENTS.search(q)), _contents),
    ("next", lambda q: bool(_NEXT.search(q)), _next),
    ("duration", lambda q: bool(_DURATION_CUE.search(q)) and not _CONCEPT.search(q), _duration),
)

_NAMED_INTENTS = frozenset({"certification", "project", "track", "resources", "habits", "time_budget", "timeline",
                            "goals"})
"""Intents a question names by their own nouns ("is there a cert for that?"): a follow-up that names one asks
for it; one that does not ("which one of those first?") asks for more of the previous answer's kind."""

_HANDLERS: dict[str, Callable[[Catalogue, str, MemberContext | None], Guidance | None]] = {
    name: answer for name, _applies, answer in _ROUTES} | {"progress": _progress}

INTENT_SIMILARITY = 0.5
"""A question no pattern catches goes to the intent of its nearest example (knowledge/intent_examples.yaml)
when the cosine similarity is at least this (tuned on the tune halves, docs/evalsets.md)."""
RESOURCE_SIMILARITY = 0.35
"""A resource question naming no level gets the catalogue resource nearest by what it is for, when at least
this similar; below it, retrieval answers (a dataset or library the sections name)."""
TRACK_SIMILARITY = 0.30
TRACK_MARGIN = 0.03
"""A track question naming no track and no known interest gets the track whose description is nearest by
meaning, when it is at least this similar and this much ahead of the runner-up."""

Encode = Callable[[list[str]], "np.ndarray"]


_INTENT_CUES = {
    "start": r"start|begin|first|beginner|new to|background|skip|jump|zero|scratch",
    "timeline": r"months?|years?|weeks?|behind|pace|how far|ahead|by now",
    "duration": r"how long|months?|years?|total|takes?|last",
    "track": r"tracks?|speciali[sz]|level 4|lvl 4|a-e|a to e|which (?:area|field|direction)",
    "certification": r"cert|exam|credential|certificate",
    "project": r"projects?|portfolio|build|github|show",
    "time_budget": r"hours?|hrs?|time|weekends?|days?|weeks?|enough",
    "habits": r"daily|weekly|monthly|routine|habits?|each day|every day|every week",
    "next": r"next|now what|after|done|finished|completed|wrapped up",
    "resources": r"books?|course|read|resources?|textbook|tutorial|practi[sc]e|free|learn",
    "progress": r"progress|improv|better|measure|success|metrics?|expert|made it",
}
"""A question routed by meaning must also say something of its intent: "how do I choose which samples to
label next" is near "which track should I choose" by meaning but names no track."""


def load_examples(path: Path | None = None) -> dict[str, tuple[str, ...]]:
    data = yaml.safe_load((path or Path(__file__).with_name("intent_examples.yaml")).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError("intent_examples.yaml: expected intents with lists of example questions")
    unknown = set(data) - set(_INTENT_CUES) - {"none"}
    if unknown:
        raise ValueError(f"intent_examples.yaml: unknown intents {sorted(unknown)}")
    return {str(k): tuple(str(q) for q in v) for k, v in data.items()}


OFF_DOMAIN_MIN = 0.3
OFF_DOMAIN_MARGIN = 0.02
"""A question is about an everyday subject when its nearest one (knowledge/off_topic.yaml) is at least this
similar and this much nearer than anything on the path (tuned on the tuning sets, docs/evalsets.md)."""


_ON_PATH = re.compile(r"\b(?:ml|machine learning|ai|artificial intelligence|data scien\w*|deep learning|mlops|"
                      r"(?:the|this|learning) path|level \d|lvl \d|track [a-e]|models?|python|sql|datasets?|data)\b")
"""Words that put a question on the path whatever else it mentions ("I'm a chef getting into ML")."""


_PATH_STEPS = ("assess your current level", "set clear learning goals for 3, 6 and 12 months",
               "create a study plan and a weekly schedule", "build projects and a portfolio",
               "get feedback and code reviews", "stay consistent and keep a daily streak", "join communities",
               "how long the learning path takes and how many hours a week", "where to start the path",
               "books and courses to study")
"""The path's own guidance subjects, beside the catalogue's (what "which habit"/"study plan" questions ask)."""


def load_off_topic(path: Path | None = None) -> list[dict[str, str]]:
    data = yaml.safe_load((path or Path(__file__).with_name("off_topic.yaml")).read_text(encoding="utf-8"))
    domains = data.get("domains") if isinstance(data, dict) else None
    if not isinstance(domains, list) or not all(
            isinstance(d, dict) and isinstance(d.get("label"), str) and isinstance(d.get("text"), str)
            for d in domains):
        raise ValueError("off_topic.yaml: expected `domains:` with a label and a text each")
    return [{"label": d["label"], "text": d["text"]} for d in domains]


@dataclass
class IntentRouter:
    catalogue: Catalogue = field(default_factory=catalogue)
    encode: Encode | None = None
    """The embedding model (normalised vectors); without it only the patterns route."""
    examples: dict[str, tuple[str, ...]] = field(default_factory=load_examples)
    off_topic: list[dict[str, str]] = field(default_factory=load_off_topic)
    _domains: tuple[list[str], np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    _vectors: tuple[list[str], np.ndarray, list[Track], np.ndarray,
                    tuple[list[tuple[int, Resource]], np.ndarray]] | None = field(default=None, repr=False)

    def _embedded(self) -> tuple[list[str], np.ndarray, list[Track], np.ndarray,
                                 tuple[list[tuple[int, Resource]], np.ndarray]]:
        assert self.encode is not None
        if self._vectors is None:
            labels = [intent for intent, texts in self.examples.items() for _ in texts]
            vectors = self.encode([text for texts in self.examples.values() for text in texts])
            tracks = [t for level in self.catalogue.levels for t in level.tracks]
            described = self.encode([f"{t.title}: {t.suits}. {', '.join(t.interests)}. "
                                     f"{', '.join(x.title for x in t.topics)}" for t in tracks])
            resources = [(level.number, r) for level in self.catalogue.levels for r in level.resources]
            about = self.encode([f"{r.title}" + (f" by {r.author}" if r.author else "") + f" ({r.kind}): {r.about}"
                                 for _, r in resources])
            self._vectors = (labels, vectors, tracks, described, (resources, about))
        return self._vectors

    def _domain_vectors(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        """(labels, vectors) of the everyday subjects (knowledge/off_topic.yaml) and the vectors of what the
        path is about: its levels, modules, topics, tracks and the guidance examples."""
        assert self.encode is not None
        if self._domains is None:
            labels = [d["label"] for d in self.off_topic]
            domains = self.encode([d["text"] for d in self.off_topic])
            cat = self.catalogue
            path = [f"{lv.name}" for lv in cat.levels]
            path += [m.title for lv in cat.levels for m in lv.modules]
            path += [f"{t.title}: {t.suits}" for lv in cat.levels for t in lv.tracks]
            path += [f"{x.title} {x.covers or ''}".strip() for lv in cat.levels for x in lv.topics()]
            # …and how the path is followed: habits, certifications, projects, success metrics, next steps
            path += [f"{cadence} learning habits: {item.description}" for cadence, group in cat.habits.items()
                     for item in group.items]
            path += [f"{c.title}: {', '.join(c.topics)}" for c in cat.certifications]
            path += [f"portfolio project {p.title}: {', '.join(p.requirements)}" for p in cat.portfolio_projects]
            path += [item.text for group in cat.success_metrics for item in group.items]
            path += list(_PATH_STEPS)
            self._domains = (labels, domains, self.encode(path))
        return self._domains

    def off_domain(self, question: str) -> str:
        """The everyday subject a question is about when it is clearly nearer to one than to anything on the
        path ("where do I start with marathon training?"), else ""."""
        if self.encode is None or not self.off_topic or _ON_PATH.search(question.lower()):
            return ""
        labels, domains, path = self._domain_vectors()
        vector = self.encode([question])[0]
        sims = domains @ vector
        best = int(np.argmax(sims))
        if sims[best] >= OFF_DOMAIN_MIN and sims[best] - float(np.max(path @ vector)) >= OFF_DOMAIN_MARGIN:
            return labels[best]
        return ""

    def nearest_intent(self, question: str) -> tuple[str, float]:
        """The intent of the example nearest to `question` by meaning ("none" = a concept question)."""
        labels, vectors, _, _, _ = self._embedded()
        assert self.encode is not None
        sims = vectors @ self.encode([question])[0]
        best = int(np.argmax(sims))
        return labels[best], float(sims[best])

    def nearest_track(self, question: str, among: set[str] | None = None) -> Track | None:
        """The track whose description is nearest; `among` (track letters) when the question names two."""
        _, _, tracks, described, _ = self._embedded()
        assert self.encode is not None
        sims = described @ self.encode([question])[0]
        order = [int(i) for i in np.argsort(-sims) if among is None or tracks[int(i)].id in among]
        if among is not None:  # the asker chose the two: the nearer one, however close
            return tracks[order[0]] if order else None
        if sims[order[0]] >= TRACK_SIMILARITY and sims[order[0]] - sims[order[1]] >= TRACK_MARGIN:
            return tracks[order[0]]
        return None

    def nearest_resource(self, question: str) -> tuple[int, Resource] | None:
        """The catalogue resource nearest to `question` by what it is for, when near enough."""
        _, _, _, _, (resources, vectors) = self._embedded()
        assert self.encode is not None
        sims = vectors @ self.encode([question])[0]
        best = int(np.argmax(sims))
        return resources[best] if sims[best] >= RESOURCE_SIMILARITY else None

    def _answer(self, name: str, about: str, member: MemberContext | None) -> Guidance | None:
        if name == "resources" and self.encode is not None:
            return _resources(self.catalogue, about, member, self.nearest_resource(about))
        if name in ("track", "certification") and self.encode is not None and _match_track(self.catalogue, about) \
                is None and _background(self.catalogue, about) is None:
            choice = _TRACK_CHOICE.search(about)
            track = self.nearest_track(about, among={choice.group(1).upper(), choice.group(2).upper()}
                                       if choice else None)
            if track is not None:
                about = f"{about} track {track.id.lower()}"
        return _HANDLERS[name](self.catalogue, about, member)

    def route(self, question: str, member: MemberContext | None = None, *, context: str = "",
              follow_up: bool = False) -> Guidance | None:
        """The guidance answer for a guidance question, or None for a question retrieval should answer.
        `context` is the conversation a follow-up follows: the question alone decides whether it asks for
        guidance ("is there a cert for that?"), the question plus its context what it is about ("track B")."""
        q = re.sub(r"\s+", " ", question.lower()).strip()
        about = f"{q} {context.lower()}".strip() if context else q
        names = {name for name, applies, _answer in _ROUTES if applies(q)}
        if follow_up and context and refers_back(q) and not names & _NAMED_INTENTS:
            # "which one of those first?" after "what certifications are there?": the same kind of answer,
            # about what the follow-up adds ("if I'm a data engineer")
            previous = self.route(context, member)
            if previous is not None:
                guidance = self._answer(previous.intent, about, member)
                if guidance is not None:
                    return guidance
        for name, applies, _answer in _ROUTES:
            if applies(q):
                guidance = self._answer(name, about, member)
                if guidance is not None:
                    return guidance
        if not follow_up and self.encode is not None:
            # no pattern: the nearest example by meaning (a follow-up's words alone are too few for this)
            # "honestly feels like i'm stuck. how do i tell if i'm progressing?": the ask may be the last sentence
            for asked in dict.fromkeys([q, _last_sentence(q)]):
                intent, similarity = self.nearest_intent(asked)
                if intent != "none" and similarity >= INTENT_SIMILARITY and re.search(
                        rf"\b(?:{_INTENT_CUES[intent]})", asked):
                    return self._answer(intent, q, member)
        if context and self.route(context, member) is not None:
            # a follow-up to a guidance question ("which cert for data engineers?" → "how hard is it?")
            for _name, applies, answer in _ROUTES:
                if applies(about):
                    guidance = answer(self.catalogue, about, member)
                    if guidance is not None:
                        return guidance
        return None


def _last_sentence(text: str) -> str:
    """The last sentence of a question of several (of at least three words), else the question."""
    parts = [p for p in re.split(r"(?<=[.!?])\s+", text) if len(p.split()) >= 3]
    return parts[-1] if len(parts) > 1 else text


def route(question: str, member: MemberContext | None = None, *, context: str = "") -> Guidance | None:
    return IntentRouter().route(question, member, context=context)


def scope_line(cat: Catalogue) -> str:
    """One line on what the mentor covers, from the catalogue (said with every refusal)."""
    levels = ", ".join(f"{lv.number} {lv.name}" for lv in cat.levels)
    tracks = sum(len(lv.tracks) for lv in cat.levels)
    return (f"I can help with the path's levels ({levels}, with {tracks} specialization tracks), its "
            "certifications, portfolio projects and learning habits.")
