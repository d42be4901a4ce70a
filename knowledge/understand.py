"""Understanding a message: the first step of the answer pipeline (understand → retrieve → rank → compose).

Slack messages are not curriculum prose: they carry mentions and links, pasted code, stack traces and log
lines, abbreviations, typos and follow-ups that lean on the thread. This module turns a message into what
the later steps need, and decides nothing itself (no routing, no scope: those are ranked and learned):

- **prose and code apart.** Code blocks, inline code and log-like lines are split from the prose. The words
  inside code (identifiers split at case and punctuation: `KeyError` → "Key Error", `df.groupby` → "df
  groupby") join the search, so a pasted error is searched by what it is about, not by its file paths.
- **spelling and vocabulary.** A misspelt word close to a curriculum word is repaired ("valdiation");
  `vocabulary.yaml` (data) adds the curriculum's spelling variants and the words behind common abbreviations
  ("k8s" → Kubernetes). Nothing is removed, and a word nobody knows is simply a word.
- **slots.** The level, track, number of months and hours a week a message names: what guidance cards
  compute with ("after 8 months", "is 5 hrs a week enough").
- **the thread.** A message with earlier turns gets a standalone form: the previous question's words with
  the message's own, which the ranking searches beside the message alone. The previous answer's sections are
  context (a ranking feature), never a pin.

Every regular expression this module matches against a message is listed in `PATTERNS`: the answer path
counts them (docs/retrieval.md, "Phrase patterns").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, field_validator
from rapidfuzz import fuzz, process

from knowledge import package_dir
from knowledge.catalogue import load_yaml_model
from knowledge.schema import Citation, EmptyQuestion, Turn

# ----- the phrase patterns of the answer path (all of them; docs/retrieval.md counts these) -----
_CODE = re.compile(r"(```|~~~)(.*?)(?:\1|\Z)|`([^`\n]+)`", re.DOTALL)
"""Slack code markup: fenced blocks and inline code."""
_SLACK_MARKUP = re.compile(r"<(?:[@#!][^>|]*|(?:https?|mailto):[^>|]*)(?:\|([^>]*))?>")
"""Slack's mentions, channel links, special mentions and links (`<@U123>`, `<https://x|label>`)."""
_LEVEL = re.compile(r"\b(?:level|lvl|l)\s*-?\s*([1-4])\b", re.IGNORECASE)
_TRACK = re.compile(r"\btracks?\s+([a-e])(?:\s*(?:or|vs\.?|/|and)\s*(?:track\s+)?([a-e]))?\b", re.IGNORECASE)
_NUMBER = (r"(\d+(?:\.\d+)?|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|eighteen|"
           r"twenty|half an?|a couple of|a few)")
_DURATION = re.compile(rf"\b{_NUMBER}\s*-?\s*(months?|mos?|years?|yrs?|weeks?|wks?)\b", re.IGNORECASE)
_HOURS = re.compile(rf"\b{_NUMBER}\s*-?\s*(hours?|hrs?|h|minutes?|mins?)\b\s*(?:a|an|per|/|each|every)?\s*"
                    r"(day|daily|night|week|weekly|wk|month|monthly)?", re.IGNORECASE)

PATTERNS: dict[str, re.Pattern[str]] = {
    "code markup": _CODE,
    "Slack markup": _SLACK_MARKUP,
    "level named": _LEVEL,
    "track named": _TRACK,
    "duration": _DURATION,
    "hours": _HOURS,
}
"""Every regular expression matched against a member's message in the answer path."""

# ----- tokenisation (not phrase patterns: they split text, whatever it says) -----
_IDENTIFIER_PART = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
_WORD = re.compile(r"[a-z][a-z-]*[a-z]")
_NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                 "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "eighteen": 18, "twenty": 20,
                 "half a": 0.5, "half an": 0.5, "a couple of": 2, "a few": 3}

CODE_LINE_LETTERS = 0.62
"""A line whose non-space characters are less than this share letters is code or log output."""
MAX_CODE_WORDS = 40
"""Words taken from code and logs into the search (a stack trace can hold hundreds)."""
TYPO_SIMILARITY = 85
"""rapidfuzz ratio (0-100) above which an unknown word counts as a misspelling of a curriculum word."""


@dataclass(frozen=True)
class Slots:
    """What a message names that guidance cards compute with."""

    levels: tuple[int, ...] = ()
    tracks: tuple[str, ...] = ()
    months: float | None = None
    """A span of time the message names, in months ("8 months in", "after a year")."""
    hours_per_week: float | None = None
    hours_said: str = ""
    """The time budget as the member put it ("5 hrs a week")."""

    @property
    def level(self) -> int | None:
        return self.levels[0] if len(set(self.levels)) == 1 else None


@dataclass(frozen=True)
class Understood:
    """A message after understanding: what retrieval searches and what the ranking and cards read."""

    text: str
    """The message as the member typed it (Slack markup resolved, whitespace collapsed, trimmed)."""
    trimmed: bool
    prose: str
    """The message without its code, logs and pasted output."""
    code_words: str
    """Words from the message's code and logs (identifiers split), at most MAX_CODE_WORDS."""
    search: str
    """What retrieval searches for the message on its own: repaired prose, code words, vocabulary terms."""
    standalone: str = ""
    """With earlier turns: the previous question(s) and this message as one search ("" without history)."""
    previous: tuple[Citation, ...] = ()
    """The sections the previous answer cited (from the thread's last assistant turn)."""
    previous_text: str = ""
    """The previous answer's text."""
    slots: Slots = field(default_factory=Slots)

    @property
    def follows(self) -> bool:
        """The message has earlier turns to lean on."""
        return bool(self.standalone)

    @property
    def main(self) -> str:
        """The search that stands on its own: the standalone form when there is one."""
        return self.standalone or self.search


def clean(question: str, max_chars: int) -> tuple[str, bool]:
    """Slack markup resolved (a link's label or nothing), whitespace collapsed within lines, trimmed to
    `max_chars` at a word boundary. Raises EmptyQuestion."""
    text = _SLACK_MARKUP.sub(lambda m: m.group(1) or "", question or "")
    lines = [re.sub(r"[ \t\f\v]+", " ", line).strip() for line in text.replace("\r", "").split("\n")]
    text = "\n".join(line for line in lines if line).strip()
    if not text:
        raise EmptyQuestion("empty question")
    if len(text) <= max_chars:
        return text, False
    cut = text[:max_chars]
    if " " in cut[max_chars // 2:]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(), True


def prepare_question(question: str, max_chars: int) -> tuple[str, bool]:
    """The message on one line (for logs and for echoing it back), trimmed. Raises EmptyQuestion."""
    text, trimmed = clean(question, max_chars)
    return " ".join(text.split()), trimmed


def _code_like(line: str) -> bool:
    chars = [c for c in line if not c.isspace()]
    if len(chars) < 8:
        return False
    letters = sum(c.isalpha() for c in chars)
    return letters / len(chars) < CODE_LINE_LETTERS or (" " not in line.strip() and len(chars) > 24)


def identifier_words(code: str) -> list[str]:
    """Words inside code and logs: identifiers split at case changes and punctuation, lower case, paths and
    hex noise dropped ("KeyError: 'amount'" → key, error, amount)."""
    out: list[str] = []
    for token in re.split(r"[^A-Za-z0-9_]+", code):
        if not token or token.isdigit() or len(token) > 40:
            continue
        for part in token.split("_"):
            out.extend(p.lower() for p in _IDENTIFIER_PART.findall(part) if len(p) >= 2 and not p.isdigit())
    return out


def split_code(text: str) -> tuple[str, str]:
    """(prose, code): code blocks, inline code and code-like lines apart from the rest."""
    code: list[str] = []

    def take(match: re.Match[str]) -> str:
        body = match.group(2) if match.group(2) is not None else match.group(3) or ""
        code.append(body)
        # inline code inside a sentence stays readable in the prose ("why is `df.merge` slow")
        return " " + body + " " if match.group(3) is not None and len(body) <= 40 else "\n"

    rest = _CODE.sub(take, text)
    prose: list[str] = []
    for line in rest.split("\n"):
        (code if _code_like(line) else prose).append(line)
    return " ".join(" ".join(prose).split()), "\n".join(code)


def _number(text: str) -> float:
    text = text.lower().strip()
    try:
        return float(text)
    except ValueError:
        return float(_NUMBER_WORDS.get(text, 1))


def slots(text: str) -> Slots:
    lowered = text.lower()
    levels = tuple(int(m) for m in _LEVEL.findall(lowered))
    tracks: list[str] = []
    for first, second in _TRACK.findall(lowered):
        tracks += [first.upper()] + ([second.upper()] if second else [])
    months = None
    found = _DURATION.search(lowered)
    if found is not None:
        unit = found.group(2)
        months = _number(found.group(1)) * (12 if unit.startswith("y") else 0.25 if unit.startswith("w") else 1)
    hours = None
    said = ""
    for found in _HOURS.finditer(lowered):
        amount, unit, per = _number(found.group(1)), found.group(2), (found.group(3) or "week")
        per_hours = amount / 60 if unit.startswith("m") else amount
        factor = 7 if per.startswith(("d", "n")) else 12 / 52 if per.startswith("mo") else 1
        hours = per_hours * factor
        period = "day" if per.startswith(("d", "n")) else "month" if per.startswith("mo") else "week"
        said = f"{amount:g} {'minutes' if unit.startswith('m') else 'hours'} a {period}"
        break
    return Slots(levels, tuple(dict.fromkeys(tracks)), months, hours, said)


# ----- vocabulary (data) -----
class _VocabularyFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    spellings: tuple[tuple[str, ...], ...] = ()
    terms: dict[str, str] = {}

    @field_validator("spellings")
    @classmethod
    def _groups(cls, value: tuple[tuple[str, ...], ...]) -> tuple[tuple[str, ...], ...]:
        for group in value:
            if len(group) < 2 or any(not w or w != w.lower() or " " in w for w in group):
                raise ValueError(f"a spelling group needs two or more lower-case words, got {list(group)}")
        return value

    @field_validator("terms")
    @classmethod
    def _words(cls, value: dict[str, str]) -> dict[str, str]:
        for word, meaning in value.items():
            if not word or word != word.lower() or " " in word or not meaning.strip():
                raise ValueError(f"a term is one lower-case word with the curriculum's words for it, got {word!r}")
        return value


@dataclass(frozen=True)
class VocabularyData:
    spellings: dict[str, tuple[str, ...]]
    terms: dict[str, str]


def load_vocabulary(path: Path | None = None) -> VocabularyData:
    path = path or package_dir() / "vocabulary.yaml"
    parsed = load_yaml_model(path, _VocabularyFile, "vocabulary")
    return VocabularyData({w: group for group in parsed.spellings for w in group}, dict(parsed.terms))


@lru_cache(maxsize=1)
def vocabulary_data() -> VocabularyData:
    return load_vocabulary()


def _word_forms(word: str) -> tuple[str, ...]:
    """The word and its likely stems ("started" → "start")."""
    forms = [word]
    if word.endswith("ied") and len(word) > 5:
        forms.append(word[:-3] + "y")
    for suffix in ("ing", "ed", "er", "es", "s", "ly"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            stem = word[: -len(suffix)]
            forms += [stem, stem + "e"]
    return tuple(forms)


class Vocabulary:
    """The words the path knows (the store's terms), everyday English (the embedding model's whole words)
    and the vocabulary file: for spelling repair and search expansion, never for scope."""

    def __init__(self, terms: Iterable[str], common: frozenset[str], data: VocabularyData | None = None) -> None:
        self.terms = frozenset(terms)
        self.common = common
        self.data = data or vocabulary_data()
        self._long = sorted(t for t in self.terms if len(t) >= 5 and t.isalpha())
        self._memo: dict[str, str | None] = {}

    def known(self, word: str) -> bool:
        return (word in self.data.terms or word in self.data.spellings
                or any(form in self.terms or form in self.common for form in _word_forms(word)))

    def repair(self, word: str) -> str | None:
        """The curriculum word `word` misspells, or None."""
        if word not in self._memo:
            found = process.extractOne(word, self._long, scorer=fuzz.ratio, score_cutoff=TYPO_SIMILARITY)
            self._memo[word] = str(found[0]) if found else None
        return self._memo[word]

    def correct(self, text: str) -> str:
        """`text` with misspelt words replaced by the curriculum word they misspell."""
        def fix(match: re.Match[str]) -> str:
            word = match.group(0)
            if len(word) < 5 or not word.isalpha() or self.known(word):
                return word
            return self.repair(word) or word
        return _WORD.sub(fix, text.lower())

    def expand(self, text: str) -> list[str]:
        """Curriculum words for the message's spellings and abbreviations, not already in it."""
        words = re.findall(r"[a-z0-9][a-z0-9+#/-]*", text.lower())
        present = set(words)
        added: list[str] = []
        for word in words:
            for extra in (*self.data.spellings.get(word, ()), *self.data.terms.get(word, "").split()):
                if extra.lower() not in present and extra not in added:
                    added.append(extra)
        return added


def previous_questions(history: Sequence[Turn]) -> list[str]:
    return [t.text for t in history if t.role == "user"]


STANDALONE_TURNS = 2
"""How many earlier questions a standalone form carries ("regularisation?" → "and lambda?" → "and trees?")."""


def understand(question: str, history: Sequence[Turn], vocabulary: Vocabulary, *, max_chars: int) -> Understood:
    text, trimmed = clean(question, max_chars)
    prose, code = split_code(text)
    code_words = " ".join(list(dict.fromkeys(identifier_words(code)))[:MAX_CODE_WORDS]) if code else ""
    corrected = vocabulary.correct(prose) if prose else ""
    base = " ".join(part for part in (corrected, code_words) if part)
    added = vocabulary.expand(base)
    search = " ".join([base, *added]).strip() or text
    asked = previous_questions(history)[-STANDALONE_TURNS:]
    last = next((t for t in reversed(history) if t.role == "assistant"), None)
    standalone = ""
    if asked:
        earlier = " ".join(vocabulary.correct(" ".join(split_code(clean(q, max_chars)[0])[0].split()))
                           for q in asked)
        standalone = f"{earlier} {search}".strip()
    named = slots(prose or text)
    if asked and not named.levels and not named.tracks:
        # "anything that's not a book?" after "what book for level 2?": the level is the thread's
        earlier_slots = slots(" ".join(asked))
        named = replace(named, levels=earlier_slots.levels, tracks=earlier_slots.tracks)
    return Understood(text=" ".join(text.split()), trimmed=trimmed, prose=prose, code_words=code_words,
                      search=search, standalone=standalone, previous=last.citations if last else (),
                      previous_text=last.text if last else "", slots=named)
