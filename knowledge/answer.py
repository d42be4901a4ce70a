"""Grounded answers: the answerer interface and the default extractive answerer (no LLM needed).

The extractive answerer retrieves, and if the best passage is similar enough to the question (a threshold
calibrated on the eval set, see docs/retrieval.md) composes an answer from the most relevant sentences of
the top passages, each group cited as [n] with its section name. Below the threshold it says the path does
not cover the question and lists the nearest sections instead of guessing.

An LLM-backed answerer implements the same `Answerer` protocol and reuses `prepare_question` and the
retrieval result, so refusal and citation rules stay in one place.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

import numpy as np
from rapidfuzz import fuzz, process

from knowledge.catalogue import SectionRef, catalogue_words
from knowledge.embedding import Embedder
from knowledge.glossary import CompiledGlossary, NotCovered, glossary
from knowledge.intents import Guidance, IntentRouter, scope_line
from knowledge.lexical import STOPWORDS, tokenize
from knowledge.member import MemberContext
from knowledge.query import Query, key_subject, other_subject, previous_questions, understand, wants_sources
from knowledge.retrieval import Hit, Retriever, SearchResult

MAX_ANSWER_SENTENCES = 5
MAX_ANSWER_WORDS = 130
NEAREST_SECTIONS = 3
SENTENCE_CACHE_SIZE = 20_000
DEFINITION_BONUS = 0.1
WINDOW_SENTENCES = 6
WINDOW_WORDS = 120
WINDOW_MIN_WORDS = 60
"""The top section's excerpt: at most this many consecutive sentences and words (plus the definition)."""


class EmptyQuestion(ValueError):
    """The question is empty (after trimming whitespace)."""


@dataclass(frozen=True)
class Citation:
    n: int
    section: str
    source: str

    def as_json(self) -> dict[str, Any]:
        return {"n": self.n, "section": self.section, "source": self.source}


@dataclass(frozen=True)
class Turn:
    role: Literal["user", "assistant"]
    text: str
    citations: tuple[Citation, ...] = ()
    """An assistant turn's sources, when the front end kept them ("show me the sources" lists them)."""


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    citations: list[Citation]
    grounded: bool
    """False for a refusal: the citations are then the nearest sections, not sources of the text."""
    confidence: float
    trimmed: bool = False
    hits: list[Hit] = field(default_factory=list, repr=False)
    answerer: str = "extractive"
    """`extractive` or `llm:<provider:model>`: who wrote `text` (stored with the answer)."""
    note: str = ""
    """A short note for the member, e.g. why an LLM answer fell back to the extractive one."""
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_ms: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "answer": self.text,
            "citations": [c.as_json() for c in self.citations],
            "grounded": self.grounded,
            "answerer": self.answerer,
            **({"note": self.note} if self.note else {}),
        }


class Answerer(Protocol):
    def answer(self, question: str, *, level: int | None = None, history: Sequence[Turn] = (),
               member: MemberContext | None = None) -> Answer:
        ...


TextSink = Callable[[str], None]
"""Receives the text of an answer as it is written (LLM streaming); extractive answers never call it."""


def prepare_question(question: str, max_chars: int) -> tuple[str, bool]:
    """Collapse whitespace and trim to `max_chars` (at a word boundary). Raises EmptyQuestion."""
    text = re.sub(r"\s+", " ", question or "").strip()
    if not text:
        raise EmptyQuestion("empty question")
    if len(text) <= max_chars:
        return text, False
    cut = text[:max_chars]
    if " " in cut[max_chars // 2:]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(), True


_CODE_BLOCK = re.compile(r"(```|~~~).*?(\1|\Z)", re.DOTALL)
_LABEL = re.compile(r"^\*\*[^*]{1,60}?[.:]\*\*\s*")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])")


def sentences(text: str) -> list[str]:
    """Prose sentences of a chunk: no code blocks, no bold paragraph labels, no list markers."""
    return [sent for sent, _, _ in _sentences_with_flags(text)]


_DEFINITION_LABELS = ("what it is", "what you do")


def _sentences_with_flags(text: str) -> list[tuple[str, bool, str]]:
    """(sentence, is_definition, paragraph label): definition = from the chunk's "What it is." paragraph, or
    the first paragraph of an unlabelled text. A mentor answers "what does X do?" with the definition first;
    the label ("Common pitfall") lets "what's the classic mistake?" find its paragraph."""
    prose = _CODE_BLOCK.sub("\n\n", text)
    out: list[tuple[str, bool, str]] = []
    first = True
    for para in re.split(r"\n\s*\n", prose):
        lines = [re.sub(r"^\s*(?:[-*+]|\d+[.)])\s+", "", ln).strip() for ln in para.split("\n")]
        lines = [ln for ln in lines if ln]
        if not lines:
            continue
        raw = [ln for ln in para.split("\n") if ln.strip()]
        is_list = len(raw) > 1 and all(_LIST_ITEM.match(ln) for ln in raw)
        label = _LABEL.match(lines[0])
        definition = (label is not None and label.group(0).strip("* .:\n").lower() in _DEFINITION_LABELS) or (
            label is None and first)
        first = False
        # a list stays one item per piece (its label kept: "Read 1 research paper: …"); a paragraph is
        # re-flowed then split
        joined = lines if is_list or (len(lines) > 1 and all(len(ln.split()) < 25 for ln in lines)) else [
            " ".join(lines)]
        for piece in joined:
            item_label = _LABEL.match(piece) if is_list else None
            piece = _LABEL.sub("", piece)
            piece = re.sub(r"\*\*([^*]+)\*\*", r"\1", piece)
            for i, sent in enumerate(_SENTENCE.split(piece)):
                sent = sent.strip()
                if item_label is not None and i == 0 and sent:
                    sent = f"{item_label.group(0).strip('* .:').strip()}: {sent}"
                if len(sent.split()) >= 3 and not sent.endswith(":"):  # "The four daily habits:" is a lead-in
                    out.append((sent, definition, label.group(0).strip("* .:\n") if label else ""))
    return out


_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_DANGLING = re.compile(
    r"^(?:it|its|this|that|these|those|they|them|their|both|such|here|there|the latter|the former|the same|"
    r"either|neither|each|another|otherwise|instead|then|also|however|but|so|thus|hence)\b|"
    r"^(?:apply|use|run|fit|do|call|keep|put|try) (?:it|them|this|that|these)\b", re.IGNORECASE)


def stands_alone(sentence: str) -> bool:
    """False for a sentence that points back at context it needs ("It fits after…", "Both are…")."""
    return _DANGLING.search(sentence) is None


def _lexical_overlap(question_tokens: set[str], sentence: str) -> float:
    if not question_tokens:
        return 0.0
    return len(question_tokens & set(tokenize(sentence))) / len(question_tokens)


_DEFINITION_Q = re.compile(r"\b(?:what(?:'s| is| are| does)|whats|define|definition|meaning of|explain|"
                           r"what do (?:you|we|people) mean)\b", re.IGNORECASE)
NEAR_MISS_FACTOR = 0.8
"""A refusal lists a section as "nearest" only when its confidence is at least this share of the threshold
and it shares a word with the question: unrelated "nearest sections" are noise."""


PITFALL_BONUS = 0.1
_PITFALL_LABELS = ("common pitfall", "common pitfalls", "pitfall")


def _is_pitfall(label: str) -> bool:
    return label.lower() in _PITFALL_LABELS
_SYMPTOM = re.compile(
    r"\b(?:keeps?|kept|never|always|fell apart|falls apart|wrong|worse|fails?|failing|failed|broke|broken|crawls?|"
    r"too (?:slow|good|high|low)|way (?:higher|lower|worse|off)|(?:higher|lower) than|doesn'?t|don'?t|won'?t|"
    r"isn'?t|stopped|vanish\w*|drops?|dropped|explod\w*|goes? off|ignor\w*|same (?:kind|thing)|boring|"
    r"stuck|nothing (?:changed|touched)|nobody touched|suddenly|randomly|twice|duplicat\w*|"
    r"junk|trash|garbage|terrible|awful|horrible|useless|huge|crash\w*|freez\w*|refused|errors?|eats|wtf|"
    r"(?:basically|almost|nearly|close to) (?:zero|0|nothing)|zero|out of memory|"
    r"nothing (?:responds|happens|works|loads|answers)|not (?:responding|working|loading)|"
    r"diff(?:erent)? (?:numbers|results|scores|answers|metrics)|"
    r"(?:fine|great|good|perfect|amazing|green|works?)\b[^.?!]{0,80}\bbut)\b", re.IGNORECASE)
"""Words that describe a problem rather than ask for a definition."""
_JUDGEMENT = re.compile(
    r"\b(?:any good|(?:actually|really) good|worth (?:it|using|learning|the hype)|overrated|over-?hyped|hype|"
    r"reliable|trust (?:it|them|that)|downsides?|drawbacks?|catch|limitations?|when (?:not|shouldn'?t i) (?:to )?use|"
    r"matters? (?:more|most)|more important|which (?:one|is) (?:better|worse)|should i (?:care|worry|use it))\b",
    re.IGNORECASE)
_PRACTICE_Q = re.compile(r"\b(?:datasets?|data ?sets?|librar(?:y|ies)|libs?|packages?|frameworks?|tools?|"
                         r"play(?:ing)? with|practi[cs]e (?:on|with))\b", re.IGNORECASE)
_PAPER_Q = re.compile(r"\bpapers?\b", re.IGNORECASE)
_CITES = re.compile(r"\bet al\.?|\b[A-Z][a-z]+ (?:and|&) [A-Z][a-z]+,? (?:19|20)\d\d\b")
TYPO_SIMILARITY = 85
"""rapidfuzz ratio (0-100) above which an unknown word counts as a misspelling of a curriculum word."""
FOLLOW_UP_FACTOR = 0.8
"""A follow-up to an answered question is refused below this share of the threshold: its own words
("what's the classic mistake with it?") rarely carry the subject."""


def _word_forms(word: str) -> tuple[str, ...]:
    """The word and its likely stems ("started" → "start"), for the curriculum vocabulary check."""
    forms = [word]
    if word.endswith("ied") and len(word) > 5:
        forms.append(word[:-3] + "y")  # "retried" → "retry"
    for suffix in ("ing", "ed", "er", "es", "s", "ly", "al", "y"):  # "mathy" → "math"
        if word.endswith(suffix) and len(word) - len(suffix) >= (4 if suffix == "y" else 3):
            stem = word[: -len(suffix)]
            forms += [stem, stem + "e"]
    return tuple(forms)


def _previous_sections(history: Sequence[Turn]) -> frozenset[tuple[str, str]]:
    """(source, section) of the sections the previous answer cited."""
    last = next((t for t in reversed(history) if t.role == "assistant"), None)
    return frozenset((c.source, c.section) for c in last.citations) if last is not None else frozenset()


_VERSUS = re.compile(r"\bvs\.?\b|\bversus\b|\bdiff(?:erence)?s? between\b|\bcompared? (?:to|with)\b|"
                     r"\bsame (?:thing|as)\b|\binstead of\b|\bwhy not\b|\bor\b.*\?$", re.IGNORECASE)


def _heading_tokens(hit: Hit) -> set[str]:
    return set(tokenize(hit.section.rsplit(" › ", 1)[-1]))


def _names_section(question: str, hits: Sequence[Hit]) -> bool:
    """The question names the top section by its heading ("help me put together a study plan, I have a
    toddler" → Create a Study Plan): a rare word in it is the asker's situation, not its subject."""
    if not hits:
        return False
    heading = _heading_tokens(hits[0])
    return len(heading & set(tokenize(question))) >= min(2, len(heading))


def _answered(history: Sequence[Turn]) -> bool:
    last = next((t for t in reversed(history) if t.role == "assistant"), None)
    return last is not None and not last.text.startswith(REFUSAL_START)


REFUSAL_START = "The learning path doesn't cover that"
RARE_TERM_CONFIDENCE = 0.45
"""A question with a rare word the path never uses is refused below this retrieval confidence (tuned on the
tune halves, docs/evalsets.md): only a strong match shows the path covers it after all."""
_WORD = re.compile(r"[a-z][a-z-]*[a-z]")
SPECIFIC_IDF = 2.5
_ASKED_SUBJECT = re.compile(
    r"\b(?:learn(?:ing)?(?: to)?|study(?:ing)?|become|becoming|build|building|(?:better|good|decent) at|"
    r"start(?:ing)? with|(?:courses?|books?|classes|lessons|tutorials?) (?:on|in|for|about)|"
    r"(?:cert|certification|certificate|exam)s? (?:for|in|to become)|at the|into my|with my|"
    r"(?:careers?|switch(?:ing)?|move|moving) into|pass(?:ing)? (?:the|my|an?))\s+"
    r"(?:(?:with|for|on|about|in) )?(?:an? |the |my |some |more |this )?(?P<w>[a-z]+)|"
    r"\b(?P<v>[a-z]+)(?:'s)? (?:routine|training|lessons|classes|season|recipe|portfolio|exam)\b")
_SITUATION = frozenset([
    "week", "weekend", "weekends", "month", "year", "day", "evening", "morning", "night", "work", "job", "team",
    "manager", "boss", "company", "newborn", "baby", "kids", "family", "school", "university", "degree", "commute",
    "lunch", "free", "spare", "time", "life", "schedule", "level", "track", "path", "basics", "beginning", "start",
    "fundamentals", "foundation", "career", "role"
])
"""Words of a member's situation that follow "with my", "at the", "into my" and are not a subject."""
_NOT_SUBJECTS = frozenset(["getting", "becoming", "being", "doing", "making", "trying", "starting", "learning",
                           "improving", "understanding", "working", "going", "using", "actually", "really"])
"""Verbs that follow "a book for" and the like before the subject ("a book for getting good at pandas")."""


class Vocabulary:
    """Which of a question's words the path knows: for spelling repair and scope gating.

    A word is known when the curriculum uses it (in any light inflection), the glossary knows it, or it is
    everyday English (the embedding model's whole-word vocabulary). An unknown word close to a curriculum
    word is a misspelling and is repaired ("valdiation" → "validation"); one close to none is rare."""

    def __init__(self, terms: dict[str, float], common: frozenset[str], glossary: CompiledGlossary,
                 catalogue: frozenset[str] = frozenset()) -> None:
        self.terms = terms
        self.catalogue = catalogue
        self.common = common
        self.glossary = glossary
        self._long = [t for t in terms if len(t) >= 5 and t.isalpha()]
        self._memo: dict[str, str | None] = {}

    def known(self, word: str) -> bool:
        if word in self.catalogue or self.glossary.knows(word) or any(t in self.terms for t in tokenize(word)):
            return True
        if any(form in self.terms or form in self.common for form in _word_forms(word)):
            return True
        # a compound of two known words: "finetuning", "dataset", "hyperparams"
        return any(word[:i] in self.common and (word[i:] in self.common or word[i:] in self.terms)
                   for i in range(3, len(word) - 2))

    def _repair(self, word: str) -> str | None:
        """The curriculum word `word` misspells, or None."""
        if word not in self._memo:
            found = process.extractOne(word, self._long, scorer=fuzz.ratio, score_cutoff=TYPO_SIMILARITY)
            self._memo[word] = str(found[0]) if found else None
        return self._memo[word]

    def correct(self, text: str) -> str:
        """`text` with misspelt words replaced by the curriculum word they misspell."""
        def fix(match: re.Match[str]) -> str:
            word = match.group(0)
            lowered = word.lower()
            if len(lowered) < 5 or not lowered.isalpha() or self.known(lowered):
                return word
            return self._repair(lowered) or word
        return _WORD.sub(fix, text)

    def specific(self, term: str) -> bool:
        """A curriculum term that is rare in it (BM25 idf ≥ 2.5: at most about 1 chunk in 12): "psi",
        "smote", "xgboost"; not "level", "model", "data"."""
        return self.terms.get(term, 0.0) >= SPECIFIC_IDF

    def foreign_subject(self, text: str) -> str:
        """The subject of a guidance-worded question when the path never uses it ("learn guitar", "courses
        on pottery", "marathon training"): everyday English the curriculum does not know. "" otherwise."""
        lowered, pos = text.lower(), 0
        while (found := _ASKED_SUBJECT.search(lowered, pos)) is not None:
            pos = found.start() + 1  # overlapping: "books for learning spanish"
            word = found.group("w") or found.group("v") or ""
            if len(word) < 3 or word in _SITUATION or word in STOPWORDS or not word.isalpha() or word in _NOT_SUBJECTS:
                continue
            if word in self.catalogue or self.glossary.knows(word, stems=False) or any(
                    form in self.terms for form in _word_forms(word)):
                continue
            # an English word the path never uses ("paramedic") is a subject, not a misspelling of one
            if word in self.common or not self._repair(word):
                return word
        return ""

    def unknown_subject(self, text: str) -> list[str]:
        """Words of the question's subject ("what is naive Bayes?") that occur nowhere in the curriculum,
        are not a misspelling of a word that does, and are not known to the glossary: the subject is not
        covered, however similar some section looks. Everyday English counts here: "naive" is not taught."""
        subject = key_subject(text)
        return [word for word in tokenize(subject)
                if len(word) >= 4 and not word.isdigit() and not self.glossary.knows(word)
                and not any(form in self.terms for form in _word_forms(word)) and not self._repair(word)
                and not self._shortened(word)]

    def _shortened(self, word: str) -> bool:
        """"intro" (introduction), "hyperparam" (hyperparameter), "dockerising" (docker): a word that a
        curriculum word starts, or that starts with one."""
        return any(word.startswith(t) or (len(word) >= 5 and t.startswith(word)) for t in self._long)

    def rare(self, text: str) -> list[str]:
        """Words of `text` that are neither known nor a misspelling nor a form of a curriculum word."""
        out = []
        for word in _WORD.findall(text.lower()):
            if len(word) < 4 or not word.isalpha() or self.known(word) or self._repair(word):
                continue
            if self._shortened(word):
                continue
            out.append(word)
        return out


@dataclass(frozen=True)
class Prepared:
    """A question after understanding and routing, as both answerers act on it."""

    text: str
    trimmed: bool
    query: Query
    result: SearchResult | None = None
    """The retrieval result, when the question went to retrieval and is answerable."""
    final: Answer | None = None
    """A complete answer without composition: previous sources, guidance, or a refusal."""


@dataclass
class ExtractiveAnswerer:
    retriever: Retriever
    embedder: Embedder
    threshold: float
    max_question_chars: int = 500
    k: int = 5
    router: IntentRouter = field(default_factory=IntentRouter, repr=False)
    glossary: CompiledGlossary = field(default_factory=glossary, repr=False)
    _cache: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _vocabulary: Vocabulary | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.router.encode is None:
            self.router.encode = self.embedder.encode

    def _sentence_vectors(self, texts: list[str]) -> np.ndarray:
        """Sentence embeddings, cached: the same sections answer many questions, so after warm-up an
        answer costs one question embedding instead of ~40 sentence embeddings."""
        with self._lock:
            known = {t: self._cache[t] for t in texts if t in self._cache}
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        if missing:
            known.update(zip(missing, self.embedder.encode(missing), strict=True))
            with self._lock:
                for text in missing:
                    self._cache[text] = known[text]
                while len(self._cache) > SENTENCE_CACHE_SIZE:
                    self._cache.pop(next(iter(self._cache)))
        return np.vstack([known[t] for t in texts])

    def answer(self, question: str, *, level: int | None = None, history: Sequence[Turn] = (),
               member: MemberContext | None = None) -> Answer:
        prepared = self.prepare(question, level=level, history=history, member=member)
        if prepared.final is not None:
            return prepared.final
        assert prepared.result is not None
        return self._compose(prepared.text, prepared.result.hits, prepared.result.confidence, prepared.trimmed,
                             query=prepared.query, member=member)

    def prepare(self, question: str, *, level: int | None = None, history: Sequence[Turn] = (),
                member: MemberContext | None = None) -> Prepared:
        """Understand, route and retrieve: the steps before an answer is written, shared with the LLM
        answerer so that sources, guidance, scope and refusals follow one set of rules."""
        text, trimmed = prepare_question(question, self.max_question_chars)
        words = self._words()
        query = understand(words.correct(text), history, self.glossary, specific=words.specific)
        if wants_sources(text):
            return Prepared(text, trimmed, query, final=self._previous_sources(text, history, level, trimmed))
        if query.not_covered is not None:  # "is speech-to-text part of track B?" too: not covered
            result = self.retriever.search(query.search, k=self.k, prefer_level=level)
            return Prepared(text, trimmed, query, final=self._not_covered(text, query.not_covered, result, trimmed))
        context = " ".join([query.subject if query.follow_up else "", *query.added_terms]).strip()
        guidance = self.router.route(query.text, member, context=context, follow_up=query.follow_up)
        # a question the glossary recognises an ML term in ("recsys papers … the netflix prize") is on the path,
        # however near an everyday subject its other words are
        foreign = "" if query.follow_up else (words.foreign_subject(query.text) or (
            "" if query.added_terms else self.router.off_domain(query.text)))
        if foreign:  # "which certification to become an electrician?": guidance wording, another subject
            result = self.retriever.search(query.search, k=self.k, prefer_level=level)
            return Prepared(text, trimmed, query, final=self._refusal(text, [], result.confidence, trimmed,
                                                                       query=query, subject=foreign))
        if guidance is not None:
            return Prepared(text, trimmed, query, final=self._guidance(text, guidance, trimmed, asked=query.search))
        # the member's own level is not preferred: a Level 2 member asking about transfer learning wants Track A
        previous = _previous_sections(history) if query.follow_up else frozenset()
        other = other_subject(query.text) if query.follow_up else ""
        if other:
            # "and where does k8s come into it?" after Docker: the follow-up relates the answer to another
            # subject, which its answer is about when a section is named by it (the conversation's words stay
            # in the search)
            named = self.glossary.expand(other).query
            own = self.retriever.search(named, k=1, prefer_level=level)
            if own.hits and (own.hits[0].source, own.hits[0].section) not in previous and self._names_top_subject(
                    named, own.hits[0]):
                previous = frozenset({(own.hits[0].source, own.hits[0].section)})
        result = self.retriever.search(query.search, k=self.k, prefer_level=level, prefer_sections=previous)
        unknown = [] if query.follow_up else words.unknown_subject(query.text)
        if unknown:
            return Prepared(text, trimmed, query, final=self._refusal(text, result.hits, result.confidence, trimmed,
                                                                       query=query, subject=key_subject(query.text)))
        rare = [] if query.follow_up else words.rare(query.text)
        if rare and result.confidence < RARE_TERM_CONFIDENCE and not _names_section(query.text, result.hits):
            # a word the path never uses and everyday English doesn't know ("simclr", "homomorphic"): the
            # question is about something the path does not teach, unless a section matches it strongly
            subject = key_subject(query.text) or ", ".join(rare)
            return Prepared(text, trimmed, query, final=self._refusal(text, result.hits, result.confidence, trimmed,
                                                                       query=query, subject=subject))
        threshold = self.threshold
        if query.follow_up and _answered(history):
            threshold *= FOLLOW_UP_FACTOR  # the conversation already established the subject is on the path
        if result.hits and result.confidence < threshold and self._names_top_subject(query.text, result.hits[0]):
            # "eli5 RAG, keep hearing it everywhere": the chat around the name dilutes the similarity, but the
            # question names the top section's own subject
            threshold *= NEAR_MISS_FACTOR
        if not result.hits or result.confidence < threshold:
            return Prepared(text, trimmed, query, final=self._refusal(text, result.hits, result.confidence,
                                                                       trimmed, query=query))
        return Prepared(text, trimmed, query, result=_definition_first(query, result))

    def _names_top_subject(self, question: str, hit: Hit) -> bool:
        """The question names a specific word of the section's own heading ("rag" → RAG (Retrieval-…))."""
        words = self._words()
        return any(words.specific(t) for t in _heading_tokens(hit) & set(tokenize(question)))

    def _words(self) -> Vocabulary:
        """The curriculum's words (the BM25 index's terms) with everyday English, rebuilt after an ingest."""
        terms = self.retriever.corpus().bm25.idf
        with self._lock:
            if self._vocabulary is None or self._vocabulary.terms is not terms:
                self._vocabulary = Vocabulary(terms, self.embedder.common_words(), self.glossary,
                                              catalogue_words(self.router.catalogue))
            return self._vocabulary

    # ----- answers that need no composition -----
    def _previous_sources(self, question: str, history: Sequence[Turn], level: int | None,
                          trimmed: bool) -> Answer:
        last = next((t for t in reversed(history) if t.role == "assistant"), None)
        citations = list(last.citations) if last is not None and last.citations else []
        if not citations:
            asked = previous_questions(history)
            if asked:
                earlier = list(history)
                while earlier and earlier[-1].text != asked[-1]:
                    earlier.pop()
                previous = self.answer(asked[-1], level=level, history=earlier[:-1])
                citations = previous.citations if previous.grounded else []
        if not citations:
            text = ("There's no earlier answer from the learning path in this conversation to give sources for. "
                    "Ask me a question and I'll cite the sections I answer from.")
            return Answer(question, text, [], False, 0.0, trimmed)
        listed = "; ".join(f"[{c.n}] {c.section} ({c.source})" for c in citations)
        return Answer(question, f"My last answer comes from: {listed}.", citations, True, 1.0, trimmed)

    def _resolve(self, ref: SectionRef | None) -> tuple[str, str] | None:
        return self.retriever.find_section(ref.source, ref.heading) if ref is not None else None

    def _guidance(self, question: str, guidance: Guidance, trimmed: bool, *, asked: str = "") -> Answer:
        """`asked`: the question with its glossary terms, for a topical paragraph's sentence on its subject."""
        names = {t for t in tokenize(asked) if self._words().specific(t)}
        citations: list[Citation] = []
        parts: list[str] = []
        for paragraph in guidance.paragraphs:
            found = self._resolve(paragraph.section)
            marker = ""
            if found is not None:
                section, source = found
                cited = next((c for c in citations if c.section == section), None)
                if cited is None:
                    cited = Citation(len(citations) + 1, section, source)
                    citations.append(cited)
                marker = f" [{cited.n}]"
            text = paragraph.text
            if found is not None and (paragraph.detail or paragraph.lead_words):
                # what the section itself says: of the thing named, or its opening sentences
                body = sentences(self.retriever.section_body(found[1], found[0]))
                said = [sent for sent in body if paragraph.detail and paragraph.detail.lower() in sent.lower()]
                words = 0
                for sent in body if paragraph.lead_words else ():
                    if said and words + len(sent.split()) > paragraph.lead_words:
                        break
                    said.append(sent)
                    words += len(sent.split())
                if paragraph.topical:
                    # the section's sentence on a subject the question names, which the answer's own sentences
                    # do not mention ("for statistics … the path lists no dedicated resource")
                    known = set(tokenize(f"{text} {' '.join(said)}"))
                    overlap = {sent: len(names & set(tokenize(sent)) - known) for sent in body if sent not in said}
                    extra = max(overlap, key=lambda sent: overlap[sent], default=None)
                    if extra is not None and overlap[extra] >= 2:
                        said.append(extra)
                if said:
                    text += " " + " ".join(said)
            parts.append(text + marker)
        if guidance.next_step:
            parts.append(guidance.next_step)
        return Answer(question, "\n\n".join(parts), citations, True, 1.0, trimmed)

    def _related(self, question: str, hits: Sequence[Hit], query: Query | None = None) -> list[Hit]:
        """Hits close enough to the question to be worth naming in a refusal."""
        asked = set(tokenize(question)) | set(tokenize(" ".join(query.added_terms) if query else ""))
        related = []
        for hit in hits:
            if hit.confidence < NEAR_MISS_FACTOR * self.threshold:
                continue
            if asked & set(tokenize(hit.section)) or hit.coverage >= 0.5:
                related.append(hit)
        return related

    def _refusal(self, question: str, hits: list[Hit], confidence: float, trimmed: bool, *,
                 query: Query | None = None, subject: str = "") -> Answer:
        nearest: list[Citation] = []
        for hit in self._related(question, hits, query):
            if all(c.section != hit.section for c in nearest):
                nearest.append(Citation(len(nearest) + 1, hit.section, hit.source))
            if len(nearest) == NEAREST_SECTIONS:
                break
        return self._refusal_text(question, nearest, confidence, trimmed, hits, subject)

    def _refusal_text(self, question: str, nearest: list[Citation], confidence: float, trimmed: bool,
                      hits: list[Hit], subject: str = "") -> Answer:
        what = f" ({subject})" if subject else ""
        body = f"{REFUSAL_START}{what}, so I won't guess."
        if len(nearest) == 1:
            body += f" The nearest it has is [1] {nearest[0].section}."
        elif nearest:
            body += " The nearest sections are: " + "; ".join(f"[{c.n}] {c.section}" for c in nearest) + "."
        body += " " + scope_line(self.router.catalogue)
        return Answer(question, body, nearest, False, confidence, trimmed, hits)

    def _not_covered(self, question: str, entry: NotCovered, result: SearchResult, trimmed: bool) -> Answer:
        nearest: list[Citation] = []
        found = self._resolve(entry.nearest)
        if found is not None:
            nearest.append(Citation(1, found[0], found[1]))
        return self._refusal_text(question, nearest, result.confidence, trimmed, result.hits, entry.subject)

    # ----- composition -----
    def _closing(self, hit: Hit, member: MemberContext | None) -> str:
        """The mentor's closing line: the next step on this topic (a quiz, the exercise, the section)."""
        try:
            title = self.router.catalogue.topic(hit.topic).title if hit.topic else ""
        except KeyError:
            title = ""
        practise = "How to practise" in hit.text
        if title and member and hit.topic in member.weak_topics:
            return (f"Next step: you missed a quiz question on {title} recently, so re-read this section"
                    + (" and do its practice exercise" if practise else "") + ", then retry the quiz on it.")
        if title:
            return (f"Next step: check yourself with a quiz on {title}"
                    + (", then do the section's \"How to practise\" exercise." if practise else "."))
        return f"Next step: read the whole section \u201c{hit.section}\u201d."

    def _compose(self, question: str, hits: list[Hit], confidence: float, trimmed: bool, *,
                 query: Query | None = None, member: MemberContext | None = None) -> Answer:
        """A follow-up's answer may repeat a sentence the previous answer gave when it is the best answer to
        the follow-up ("what values count as bad?" after a PSI answer is its thresholds sentence again)."""
        candidates = [h for h in hits[:3] if h.confidence >= self.threshold] or hits[:1]
        flagged = [_sentences_with_flags(h.text) for h in candidates]
        per_hit = [(h, [sent for sent, _, _ in f]) for h, f in zip(candidates, flagged, strict=True)]
        flat = [s for _, sents in per_hit for s in sents]
        labels = [label for f in flagged for _, _, label in f]
        follow_up = query is not None and query.follow_up
        # a problem described ("my knn just follows the salary column") wants the diagnosis and the fix,
        # which the content writes as "Common pitfall" paragraphs, more than the definition
        # ("same thing or not?" compares two subjects; it is not a model stuck on "the same thing")
        symptom = _SYMPTOM.search(question) is not None and _DEFINITION_Q.search(question) is None and (
            _VERSUS.search(question) is None)
        # "which dataset / library for X?" is answered by the section's exercise, which names them;
        # "which papers?" by the sentences that cite one: neither wants the definition first
        practice = _PRACTICE_Q.search(question) is not None
        papers = _PAPER_Q.search(question) is not None
        # "is it actually any good?", "which one matters more for fraud?": a judgement, which the content gives
        # in its pitfall paragraphs (where a method disappoints, what a choice costs)
        judged = _JUDGEMENT.search(question) is not None
        plain = follow_up or symptom or practice or papers or judged
        definition_bonus = np.array([(DEFINITION_BONUS if d and not plain else 0.0)
                                     + (PITFALL_BONUS if (symptom or judged) and _is_pitfall(label) else 0.0)
                                     + (PITFALL_BONUS if practice and label.lower() == "how to practise" else 0.0)
                                     + (PITFALL_BONUS if papers and _CITES.search(sent) else 0.0)
                                     for f in flagged for sent, d, label in f])
        if not flat:  # e.g. a chunk that is only code: show its section instead
            top = hits[0]
            citation = Citation(1, top.section, top.source)
            return Answer(question, f"See [1] {top.section}.", [citation], True, confidence, trimmed, hits)
        search = (query.focus or query.search) if query is not None else question
        qvec = self.embedder.encode_one(search)
        if query is not None and query.follow_up:  # its own words first, its subject too
            qvec = qvec + self.embedder.encode_one(query.search)
            qvec = qvec / (np.linalg.norm(qvec) or 1.0)
        svecs = self._sentence_vectors(flat)
        qtokens = set(tokenize(search))
        scores = (svecs @ qvec + np.array([0.25 * _lexical_overlap(qtokens, f"{label} {s}")
                                           for s, label in zip(flat, labels, strict=True)])
                  + definition_bonus)
        wants_definition = _DEFINITION_Q.search(question) is not None and not follow_up

        versus = _VERSUS.search(question) is not None and not follow_up
        picked: list[tuple[int, list[str]]] = []  # (index into candidates, sentences)
        offset = 0
        best_overall = float(scores.max())
        words = 0
        count = 0
        covered: set[str] = set()
        for ci, (_hit, sents) in enumerate(per_hit):
            local = scores[offset:offset + len(sents)]
            flags = flagged[ci]
            offset += len(sents)
            if not sents:
                continue
            if ci == 0 and (follow_up or practice or papers):
                chosen = _select(sents, local)
            elif ci == 0 and symptom and any(pitfall := [_is_pitfall(label) for _, _, label in flags]):
                # a problem described: the section's pitfall (the diagnosis and the fix) is always in the answer,
                # as a definition is for "what is X?"
                chosen = _window(sents, local, pitfall, True, [label for _, _, label in flags])
            elif ci == 0:
                chosen = _window(sents, local, [d and not plain for _, d, _ in flags], wants_definition,
                                 [label for _, _, label in flags])
            elif papers and any(_CITES.search(sent) for sent in sents):
                # "which papers should I read?": each section's cited work, not only the top section's
                chosen = [max((sent for sent in sents if _CITES.search(sent)),
                              key=lambda sent: float(local[sents.index(sent)]))]
            elif versus and _heading_tokens(_hit) & qtokens - _heading_tokens(per_hit[0][0]) - covered and any(
                    d for _, d, _ in flags):
                # "rag vs fine-tuning": the other subject's own definition, whatever its score
                chosen = [next(sent for sent, d, _ in flags if d)]
            else:
                order = [int(j) for j in np.argsort(-local)]
                j = next((j for j in order if stands_alone(sents[j])), None)
                if j is None or float(local[j]) < best_overall - 0.08 or count >= MAX_ANSWER_SENTENCES:
                    continue
                if not (qtokens & set(tokenize(sents[j])) - covered):
                    continue  # adds nothing the question asked for beyond what is already said
                chosen = [sents[j]]
            kept: list[str] = []
            for sent in chosen:
                n_words = len(sent.split())
                if kept and words + n_words > MAX_ANSWER_WORDS:
                    break
                kept.append(sent)
                words += n_words
                count += 1
            if kept:
                picked.append((ci, kept))
                for sent in kept:
                    covered |= set(tokenize(sent))

        citations: list[Citation] = []
        parts: list[str] = []
        for ci, kept in picked:
            hit = per_hit[ci][0]
            existing = next((c for c in citations if c.section == hit.section), None)
            if existing is None:
                existing = Citation(len(citations) + 1, hit.section, hit.source)
                citations.append(existing)
            parts.append(" ".join(kept) + f" [{existing.n}]")
        parts.append(self._closing(per_hit[picked[0][0]][0] if picked else hits[0], member))
        return Answer(question, "\n\n".join(parts), citations, True, confidence, trimmed, hits)


DEFINITION_TIE = 0.95
"""Sections within this share of the top section's score are a tie for a definition question."""


def _definition_first(query: Query, result: SearchResult) -> SearchResult:
    """"what is LoRA?": of sections that score alike, the one whose own definition ("What it is") names the
    subject answers it, not one that mentions it in passing ("try prompting before investing in LoRA")."""
    subject = set(tokenize(key_subject(query.text)))
    hits = result.hits
    if query.follow_up or not subject or len(hits) < 2 or _DEFINITION_Q.search(query.text) is None:
        return result

    def defines(hit: Hit) -> bool:
        definition = " ".join(sent for sent, d, _ in _sentences_with_flags(hit.text) if d)
        return subject <= _heading_tokens(hit) | set(tokenize(definition))

    if defines(hits[0]):
        return result
    owner = next((h for h in hits[1:3] if h.score >= DEFINITION_TIE * hits[0].score and defines(h)), None)
    if owner is None:
        return result
    return replace(result, hits=[owner, *[h for h in hits if h is not owner]])


def _select(sents: list[str], scores: np.ndarray) -> list[str]:
    """A follow-up's answer: the section's best sentences wherever they are (its question usually sits
    between two paragraphs: "how do I pick k?" is the exercise's elbow plot and the pitfall's silhouette),
    in the section's order, within the window's words. A sentence that points back is kept only after the
    one before it."""
    n_words = [len(sent.split()) for sent in sents]
    chosen: set[int] = set()
    words = 0
    for j in (int(j) for j in np.argsort(-scores)):
        if j in chosen:
            continue
        add = [j] if stands_alone(sents[j]) or j - 1 in chosen or j == 0 else [j - 1, j]
        add = [i for i in add if i not in chosen]
        cost = sum(n_words[i] for i in add)
        if chosen and words + cost > WINDOW_WORDS:
            continue
        chosen.update(add)
        words += cost
        if words >= WINDOW_WORDS * 0.8:
            break
    return [sents[i] for i in sorted(chosen)]


def _window(sents: list[str], scores: np.ndarray, definition: list[bool], wants_definition: bool,
            labels: Sequence[str] = ()) -> list[str]:
    """Consecutive sentences of the top section: the definition first (the section's "What it is"), then
    the best-scoring run of sentences, within the word budget. The run never opens on a sentence that
    points back at one not shown: it moves back to include it, or the sentence is dropped."""
    width = min(WINDOW_SENTENCES, len(sents))
    n_words = [len(sent.split()) for sent in sents]
    best: tuple[float, int, int] | None = None
    for start in range(len(sents)):
        end, words = start, 0
        while end < len(sents) and end - start < width and (end == start or words + n_words[end] <= WINDOW_WORDS):
            words += n_words[end]
            end += 1
        score = float(scores[start:end].max()) + 0.5 * float(scores[start:end].mean())
        if best is None or score > best[0]:
            best = (score, start, end)
    assert best is not None
    _, start, end = best
    # a one-line answer says too little: widen a short run to the sentences around it, forward first;
    # backward only within its paragraph (the exercise's last step does not introduce the pitfall after it)
    same = list(labels) if len(labels) == len(sents) else [""] * len(sents)
    while sum(n_words[start:end]) < WINDOW_MIN_WORDS and (end < len(sents) or start > 0):
        if end < len(sents) and sum(n_words[start:end + 1]) <= WINDOW_WORDS:
            end += 1
        elif start > 0 and same[start - 1] == same[start] and sum(n_words[start - 1:end]) <= WINDOW_WORDS:
            start -= 1
        else:
            break
    if not stands_alone(sents[start]) and start > 0:
        start -= 1  # repair: show the sentence it points back at
    while end - start > 1 and not stands_alone(sents[start]):
        start += 1
    lead = definition.index(True) if any(definition) and (wants_definition or definition[0]) else None
    if lead is not None and not start <= lead < end:
        if lead == start - 1:
            start = lead
        else:
            while end - start > 1 and n_words[lead] + sum(n_words[start:end]) > WINDOW_WORDS:
                end -= 1
        chosen = sorted({lead, *range(start, end)})
    else:
        chosen = list(range(start, end))
    while len(chosen) > 1 and sum(n_words[i] for i in chosen) > WINDOW_WORDS + 20:
        chosen.pop()
    return [sents[i] for i in chosen]
