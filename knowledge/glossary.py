"""Query understanding from `glossary.yaml`: spelling variants, everyday phrasings, subjects not covered.

Members don't type the curriculum's words: they write "regularization" where the content says
"regularisation", "great on train, bad on test" for overfitting, "books" for a level's resources. The
glossary (content data, validated here) maps those to curriculum terms, which are appended to the search
query; it also lists ML subjects the path does not teach, so the mentor refuses them even when a section
is loosely similar (docs/retrieval.md, "Query understanding").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from knowledge import package_dir
from knowledge.catalogue import SectionRef
from mlpath.errors import UserError

_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")


def words(text: str) -> list[str]:
    """Lower-case words as the glossary patterns see them ("Q-learning" stays one word)."""
    return _WORD.findall(text.lower())


@dataclass(frozen=True)
class Pattern:
    """All groups must match some word of the text; a group is alternatives, `x*` a prefix."""

    groups: tuple[tuple[str, ...], ...]
    consecutive: bool = False
    """A phrase: the groups must match consecutive words, in order (subjects such as "graph neural*")."""

    @classmethod
    def parse(cls, text: str, *, consecutive: bool = False) -> Pattern:
        groups = tuple(tuple(alt for alt in part.split("|") if alt) for part in text.lower().split())
        if not groups or any(not g for g in groups):
            raise ValueError(f"empty pattern {text!r}")
        return cls(groups, consecutive)

    def matches(self, vocab: frozenset[str], text_words: tuple[str, ...]) -> bool:
        if not all(any(_alt_matches(alt, vocab, text_words) for alt in group) for group in self.groups):
            return False  # cheap test first: every group matches somewhere
        if self.consecutive and len(self.groups) > 1:
            n = len(self.groups)
            return any(
                all(any(_alt_matches(alt, frozenset({w}), (w,)) for alt in group)
                    for group, w in zip(self.groups, text_words[i:i + n], strict=True))
                for i in range(len(text_words) - n + 1)
            )
        return True

    def matched_words(self, text_words: tuple[str, ...]) -> set[str]:
        vocab = frozenset(text_words)
        return {w for group in self.groups for alt in group for w in vocab if _alt_matches(alt, frozenset({w}), (w,))}


def _alt_matches(alt: str, vocab: frozenset[str], text_words: tuple[str, ...]) -> bool:
    if alt.endswith("*"):
        return any(w.startswith(alt[:-1]) for w in vocab)
    return alt in vocab


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _patterns(values: tuple[str, ...]) -> tuple[str, ...]:
    for value in values:
        Pattern.parse(value)  # raises ValueError on an empty pattern
    return values


class Synonym(_Strict):
    when: tuple[str, ...] = Field(min_length=1)
    add: str = Field(min_length=1)
    also: tuple[str, ...] = ()
    """When given, one of these must match too (e.g. "lambda" only next to regularisation)."""
    unless: tuple[str, ...] = ()
    replace: bool = False

    _check = field_validator("when", "also", "unless")(_patterns)


class NotCovered(_Strict):
    subject: str
    matches: tuple[str, ...] = Field(min_length=1)
    nearest: SectionRef | None = None

    _check = field_validator("matches")(_patterns)


class Glossary(_Strict):
    spellings: tuple[tuple[str, ...], ...] = ()
    synonyms: tuple[Synonym, ...] = ()
    not_covered: tuple[NotCovered, ...] = ()
    filler_words: tuple[str, ...] = ()
    """Everyday words that never name a subject ("plain", "english", "stuff"): not a sign of a subject the
    curriculum lacks when they are unknown to it."""

    @field_validator("spellings")
    @classmethod
    def _pairs(cls, value: tuple[tuple[str, ...], ...]) -> tuple[tuple[str, ...], ...]:
        for group in value:
            if len(group) < 2 or any(not w or w != w.lower() or " " in w for w in group):
                raise ValueError(f"a spelling group needs two or more lower-case words, got {list(group)}")
        return value


@dataclass(frozen=True)
class Expansion:
    """A question as searched: the original words (minus replaced ones) plus curriculum terms."""

    query: str
    added: tuple[str, ...]
    not_covered: NotCovered | None = None


class CompiledGlossary:
    def __init__(self, glossary: Glossary) -> None:
        self.glossary = glossary
        self._spelling = {w: group for group in glossary.spellings for w in group}
        self._synonyms = [
            (s, [Pattern.parse(p) for p in s.when], [Pattern.parse(p) for p in s.also],
             [Pattern.parse(p) for p in s.unless]) for s in glossary.synonyms
        ]
        self._not_covered = [(n, [Pattern.parse(p, consecutive=True) for p in n.matches]) for n in glossary.not_covered]
        alts = [alt for syn in glossary.synonyms for p in syn.when for part in p.split() for alt in part.split("|")]
        self._known = frozenset(a for a in alts if not a.endswith("*")) | frozenset(glossary.filler_words)
        self._stems = tuple(a[:-1] for a in alts if a.endswith("*") and len(a) > 4)

    def knows(self, word: str, *, stems: bool = True) -> bool:
        """True for a word the glossary maps to curriculum terms or treats as everyday filler; `stems=False`
        ignores patterns with `*` ("param*" knows "params", but also "paramedic")."""
        if word in self._known or word in self._spelling:
            return True
        return stems and any(word.startswith(stem) for stem in self._stems)

    def not_covered(self, text: str) -> NotCovered | None:
        tw = tuple(words(text))
        vocab = frozenset(tw)
        for entry, patterns in self._not_covered:
            if any(p.matches(vocab, tw) for p in patterns):
                return entry
        return None

    def expand(self, text: str, *, context: str = "") -> Expansion:
        """`text` with curriculum terms appended; `context` (the conversation so far) can satisfy `also`."""
        tw = tuple(words(text))
        vocab = frozenset(tw)
        cw = tuple(words(context)) + tw
        cvocab = frozenset(cw)
        added: list[str] = []
        removed: set[str] = set()
        for w in tw:
            for variant in self._spelling.get(w, ()):
                if variant not in vocab and variant not in added:
                    added.append(variant)
        for syn, when, also, unless in self._synonyms:
            hit = next((p for p in when if p.matches(vocab, tw)), None)
            if hit is None or any(p.matches(vocab, tw) for p in unless):
                continue
            if also and not any(p.matches(cvocab, cw) for p in also):
                continue
            if syn.replace:
                removed |= hit.matched_words(tw)
            for term in syn.add.split():
                if term.lower() not in vocab and term not in added:
                    added.append(term)
        query = text
        if removed:
            query = re.sub(r"[A-Za-z0-9]+(?:[-'][A-Za-z0-9]+)*",
                           lambda m: "" if m.group(0).lower() in removed else m.group(0), text)
            query = re.sub(r"\s+", " ", query).strip()
        if added:
            query = f"{query} ({' '.join(added)})"
        return Expansion(query, tuple(added), self.not_covered(text))


def load_glossary(path: Path | None = None) -> CompiledGlossary:
    path = path or package_dir() / "glossary.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise UserError(f"glossary not found: {path}") from None
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: not valid YAML: {str(exc).splitlines()[0]}") from None
    try:
        return CompiledGlossary(Glossary.model_validate(data))
    except ValidationError as exc:
        err = exc.errors()[0]
        where = " › ".join(str(p) for p in err["loc"]) or "top level"
        raise UserError(f"{path}: {where}: {err['msg']}") from None


@lru_cache(maxsize=1)
def glossary() -> CompiledGlossary:
    """The bundled glossary, loaded once."""
    return load_glossary()
