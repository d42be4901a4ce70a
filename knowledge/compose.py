"""Composition: the last step of the answer pipeline (understand → retrieve → rank → **compose**).

The extractive answer keeps what retrieval found: it is built from the best-ranked candidates in rank order.

- A **card** on top is the answer: its paragraphs (with what the cited sections themselves say of the thing
  named), then its next step. A section ranked close behind it adds its best sentences when it scores at least
  the fitted `second_min` — a message that asks two things ("where do I start? stats is my weak spot").
- A **section** on top: every sentence of the top sections is scored by the fitted sentence model (similarity
  to the message and to its standalone form, shared words, the kind of paragraph the message wants — the
  `labels` model says whether a message wants the definition, the pitfall's diagnosis and fix, the exercise
  or the "why" — the section's rank, the sentence's place). The answer leads with the best sentence that
  stands on its own (the direct answer: the verdict, the diagnosis, the definition), then the top section's
  next best sentences in the section's order within the word budget, then a sentence of another section only
  when it scores `second_min` and says a word of the message the answer does not say yet. No sentence opens on
  a reference to one not shown ("It fits after…"): its antecedent comes with it, or it is left out.
- Every group is cited `[n]` (one number per section), and the answer closes with one next step.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from knowledge.cards import Card
from knowledge.catalogue import Catalogue, SectionRef
from knowledge.lexical import tokenize
from knowledge.member import MemberContext
from knowledge.model import AnswerModel
from knowledge.rank import SCOPE_FEATURES, Candidate, Ranking
from knowledge.retrieval import Retriever
from knowledge.schema import Answer, Citation, Hit
from knowledge.sentences import Sentence, label_index, section_sentences, sentences, stands_alone

MAX_WORDS = 130
"""An extractive answer's sentences hold at most about this many words (plus the next step)."""
MIN_WORDS = 45
"""…and at least this many when the top section has them: one line says too little."""

SENTENCE_FEATURES = ("sim", "sim_alone", "overlap", "overlap_alone", "label_prior", "definition", "rank0", "rank1",
                     "rank2", "candidate_score", "position", "paragraph_start", "words", "alone", "said_before")

def _overlap(tokens: set[str], sentence: str) -> float:
    return len(tokens & set(tokenize(sentence))) / len(tokens) if tokens else 0.0


@dataclass(frozen=True)
class Scored:
    candidate: int
    """Index of the section among the composed sections (0 = the top one)."""
    index: int
    """Index of the sentence within its section."""
    sentence: Sentence
    features: np.ndarray
    score: float = 0.0


SentenceVectors = Callable[[list[str]], np.ndarray]


def sentence_rows(ranking: Ranking, sections: Sequence[Candidate], hits: Sequence[Hit],
                  vectors: SentenceVectors) -> list[Scored]:
    """Every sentence of the composed sections with its features (what `mlpath fit` trains on, too)."""
    u = ranking.u
    rows: list[tuple[int, int, Sentence]] = []
    for ci, hit in enumerate(hits):
        for si, sent in enumerate(section_sentences(hit.text)):
            rows.append((ci, si, sent))
    if not rows:
        return []
    svecs = vectors([s.text for _, _, s in rows])
    sim = svecs @ ranking.vector
    sim_alone = svecs @ ranking.alone
    main_tokens, alone_tokens = set(tokenize(u.main)), set(tokenize(u.search))
    previous = u.previous_text
    counts = {ci: sum(1 for c, _, _ in rows if c == ci) for ci in range(len(hits))}
    out = []
    for k, (ci, si, sent) in enumerate(rows):
        x = np.array([
            sim[k], sim_alone[k], _overlap(main_tokens, f"{sent.label} {sent.text}"),
            _overlap(alone_tokens, f"{sent.label} {sent.text}"), ranking.labels[label_index(sent.label)],
            float(sent.definition), float(ci == 0), float(ci == 1), float(ci == 2), sections[ci].score,
            si / max(1, counts[ci] - 1), float(sent.first_in_paragraph), min(len(sent.text.split()), 60) / 30,
            float(stands_alone(sent.text)), float(bool(previous) and sent.text in previous),
        ], dtype=np.float64)
        out.append(Scored(ci, si, sent, x))
    return out


@dataclass
class Composer:
    retriever: Retriever
    catalogue: Catalogue
    model: AnswerModel
    vectors: SentenceVectors

    # ----- cards -----
    def _resolve(self, ref: SectionRef | None) -> tuple[str, str] | None:
        return self.retriever.find_section(ref.source, ref.heading) if ref is not None else None

    def card_parts(self, card: Card, citations: list[Citation], vector: np.ndarray | None = None) -> list[str]:
        """The card's paragraphs with [n] markers and what each cited section itself says of the thing named
        (or its opening sentences); with the message's `vector`, a paragraph that quotes its section also
        gets the section's sentence nearest to the message ("a free book for stats?": the reading list's own
        word on statistics). `citations` grows with the sections cited."""
        parts: list[str] = []
        for paragraph in card.paragraphs:
            found = self._resolve(paragraph.section)
            marker = ""
            text = paragraph.text
            if found is not None:
                section, source = found
                cited = next((c for c in citations if c.section == section), None)
                if cited is None:
                    cited = Citation(len(citations) + 1, section, source)
                    citations.append(cited)
                marker = f" [{cited.n}]"
                if paragraph.detail or paragraph.lead_words:
                    body = sentences(self.retriever.section_body(source, section))
                    said = [s for s in body if paragraph.detail and paragraph.detail.lower() in s.lower()]
                    words = 0
                    for sent in body if paragraph.lead_words else ():
                        if said and words + len(sent.split()) > paragraph.lead_words:
                            break
                        if sent not in said:
                            said.append(sent)
                        words += len(sent.split())
                    if vector is not None and body:
                        nearest = body[int(np.argmax(self.vectors(body) @ vector))]
                        if nearest not in said and nearest not in text:
                            said.append(nearest)
                    if said:
                        text += " " + " ".join(said)
            parts.append(text + marker)
        return parts

    def card_passage(self, card: Card, citations: list[Citation] | None = None) -> str:
        """The card as one passage (for the LLM's context and for context coverage)."""
        parts = self.card_parts(card, citations if citations is not None else [])
        return "\n\n".join(re.sub(r" \[\d+\]$", "", p) for p in parts + ([card.next_step] if card.next_step else []))

    # ----- sections -----
    def closing(self, hit: Hit, member: MemberContext | None) -> str:
        """The mentor's closing line: the next step on this topic (a quiz, the exercise, the section)."""
        try:
            title = self.catalogue.topic(hit.topic).title if hit.topic else ""
        except KeyError:
            title = ""
        practise = "How to practise" in hit.text
        if title and member is not None and hit.topic in member.weak_topics:
            return (f"Next step: you missed a quiz question on {title} recently, so re-read this section"
                    + (" and do its practice exercise" if practise else "") + ", then retry the quiz on it.")
        if title:
            return (f"Next step: check yourself with a quiz on {title}"
                    + (", then do the section's \"How to practise\" exercise." if practise else "."))
        return f"Next step: read the whole section \u201c{hit.section}\u201d."

    def scored_sentences(self, ranking: Ranking, model: AnswerModel | None = None) -> tuple[list[Hit], list[Scored]]:
        model = model or self.model
        sections = [c for c in ranking.candidates if not c.is_card][:3]
        hits = ranking.hits[:3]
        rows = sentence_rows(ranking, sections, hits, self.vectors)
        if rows:
            scores = model.sentences.proba(np.vstack([r.features for r in rows]))
            rows = [Scored(r.candidate, r.index, r.sentence, r.features, float(s)) for r, s in zip(rows, scores,
                                                                                                     strict=True)]
        return hits, rows

    def section_parts(self, ranking: Ranking, citations: list[Citation], *, model: AnswerModel | None = None,
                      budget: int = MAX_WORDS) -> tuple[list[str], Hit | None]:
        """The extractive answer's paragraphs from the top sections (see the module docstring): sentences in
        order of the sentence model's score, each with the sentence it points back at, within the budget;
        the best one leads, the rest follow in their section's order, grouped by section."""
        model = model or self.model
        hits, rows = self.scored_sentences(ranking, model)
        if not rows:
            return [], hits[0] if hits else None
        keep_min = model.setting("keep_min", 0.0)
        by_section: dict[int, list[Scored]] = {}
        for r in rows:
            by_section.setdefault(r.candidate, []).append(r)
        chosen: dict[int, list[int]] = {}
        said: set[str] = set()
        words = 0
        for r in sorted(rows, key=lambda r: -r.score):
            if words >= budget or (r.score < keep_min and words >= MIN_WORDS):
                break
            sents = by_section[r.candidate]
            take = [r.index]
            if not stands_alone(r.sentence.text) and r.index > 0 and r.index - 1 not in chosen.get(r.candidate, []):
                if sents[r.index - 1].sentence.paragraph != r.sentence.paragraph:
                    continue  # it points back at a sentence of another paragraph: never shown alone
                take = [r.index - 1, r.index]
            take = [i for i in take if i not in chosen.get(r.candidate, []) and sents[i].sentence.text not in said]
            if not take:
                continue
            n = sum(len(sents[i].sentence.text.split()) for i in take)
            if words and words + n > budget:
                continue
            chosen.setdefault(r.candidate, []).extend(take)
            said.update(sents[i].sentence.text for i in take)
            words += n
        parts: list[str] = []
        for ci in chosen:  # the lead's section first (insertion order), then the others as they were chosen
            hit = hits[ci]
            cited = next((c for c in citations if c.section == hit.section and c.source == hit.source), None)
            if cited is None:
                cited = Citation(len(citations) + 1, hit.section, hit.source)
                citations.append(cited)
            picked = chosen[ci]
            head = picked[:2] if len(picked) > 1 and picked[1] == picked[0] + 1 and not stands_alone(
                by_section[ci][picked[1]].sentence.text) else picked[:1]
            order = head + sorted(i for i in picked if i not in head) if not parts else sorted(picked)
            parts.append(" ".join(by_section[ci][i].sentence.text for i in order) + f" [{cited.n}]")
        return parts, hits[0]

    def compose(self, question: str, ranking: Ranking, member: MemberContext | None, *, trimmed: bool,
                model: AnswerModel | None = None) -> Answer:
        model = model or self.model
        top = ranking.top
        citations: list[Citation] = []
        parts: list[str] = []
        closing = ""
        if top is not None and top.card is not None:
            if top.card.id == "sources" and ranking.u.previous:
                citations = [Citation(i, c.section, c.source) for i, c in enumerate(ranking.u.previous, start=1)]
                listed = "; ".join(f"[{c.n}] {c.section} ({c.source})" for c in citations)
                return Answer(question, f"My last answer comes from: {listed}.", citations, True, ranking.in_scope,
                              trimmed, ranking.hits)
            parts = self.card_parts(top.card, citations, ranking.vector)
            closing = top.card.next_step
            # a message that asks two things ("where do I jump in, and which track later?"): the next candidate
            # answers the other when it scores nearly as well
            second_min = model.setting("second_min", 0.5)
            for other in ranking.candidates[1:3]:
                if other.score < second_min:
                    break
                if other.card is not None and other.card.id != top.card.id and other.card.id != "sources":
                    parts += self.card_parts(other.card, citations, ranking.vector)
                    break
                if other.card is None and ranking.hits:
                    extra, _ = self.section_parts(ranking, citations, model=model, budget=50)
                    parts += extra
                    break
        else:
            parts, best = self.section_parts(ranking, citations, model=model)
            if best is not None:
                closing = self.closing(best, member)
            if not parts and best is not None:
                citations = [Citation(1, best.section, best.source)]
                parts = [f"See [1] {best.section}."]
        if closing:
            parts.append(closing)
        return Answer(question, "\n\n".join(parts), citations, True, ranking.in_scope, trimmed, ranking.hits)


REFUSAL_START = "The learning path doesn't cover that"
NEAREST_SECTIONS = 3


def refusal(question: str, ranking: Ranking, catalogue: Catalogue, scope_line: str, *, trimmed: bool,
            related_min: float) -> Answer:
    """An honest "not covered". When the message is about machine learning at all (the scope model's text
    classifier says so: an ML subject the path does not teach, not sourdough), it names the nearest sections."""
    nearest: list[Citation] = []
    about_ml = ranking.scope_features[SCOPE_FEATURES.index("text_in")] > 0
    for hit in ranking.hits if about_ml else ():
        if hit.score < related_min or len(nearest) == NEAREST_SECTIONS:
            break
        if all(c.section != hit.section for c in nearest):
            nearest.append(Citation(len(nearest) + 1, hit.section, hit.source))
    body = f"{REFUSAL_START}, so I won't guess."
    if len(nearest) == 1:
        body += f" The nearest it has is [1] {nearest[0].section}."
    elif nearest:
        body += " The nearest sections are: " + "; ".join(f"[{c.n}] {c.section}" for c in nearest) + "."
    body += " " + scope_line
    return Answer(question, body, nearest, False, ranking.in_scope, trimmed, ranking.hits)
