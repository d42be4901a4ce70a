"""Sentences of a curriculum section: how answers are cut from the content.

The content's mentor explanations are paragraphs with bold labels ("**What it is.**", "**Common pitfall.**"),
lists and code blocks. An extractive answer quotes whole sentences, knows which paragraph each comes from (the
`labels` model says which kind of paragraph a message wants) and never opens on a sentence that points back
at one not shown. The patterns here read the curriculum, never a member's message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LABELS = ("what it is", "why it matters", "how to practise", "common pitfall", "other")
"""The paragraph labels the `labels` model scores (the content's mentor explanations use the first four)."""

_CODE_BLOCK = re.compile(r"(```|~~~).*?(\1|\Z)", re.DOTALL)
_LABEL = re.compile(r"^\*\*[^*]{1,60}?[.:]\*\*\s*")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_DANGLING = re.compile(
    r"^(?:it|its|this|that|these|those|they|them|their|both|such|here|there|the latter|the former|the same|"
    r"either|neither|each|another|otherwise|instead|then|also|however|but|so|thus|hence)\b|"
    r"^(?:apply|use|run|fit|do|call|keep|put|try) (?:it|them|this|that|these)\b", re.IGNORECASE)
"""Content sentences that point back at a sentence before them (matched against the curriculum, never a message)."""


@dataclass(frozen=True)
class Sentence:
    text: str
    label: str
    """The paragraph's label, lower case ("common pitfall"), or "" for an unlabelled paragraph."""
    definition: bool
    """From the "What it is" paragraph, or the first paragraph of an unlabelled section."""
    paragraph: int
    first_in_paragraph: bool


def section_sentences(text: str) -> list[Sentence]:
    """Prose sentences of a section: no code blocks, no bold labels, no list markers (a labelled list item
    keeps its label: "Read 1 research paper: …")."""
    prose = _CODE_BLOCK.sub("\n\n", text)
    out: list[Sentence] = []
    first = True
    for number, para in enumerate(re.split(r"\n\s*\n", prose)):
        raw = [ln for ln in para.split("\n") if ln.strip()]
        lines = [_LIST_ITEM.sub("", ln).strip() for ln in raw]
        if not lines:
            continue
        is_list = len(raw) > 1 and all(_LIST_ITEM.match(ln) for ln in raw)
        label = _LABEL.match(lines[0])
        name = label.group(0).strip("* .:\n").lower() if label else ""
        definition = name in ("what it is", "what you do") or (label is None and first)
        first = False
        pieces = lines if is_list or (len(lines) > 1 and all(len(ln.split()) < 25 for ln in lines)) else [
            " ".join(lines)]
        start = True
        for piece in pieces:
            item_label = _LABEL.match(piece) if is_list else None
            piece = re.sub(r"\*\*([^*]+)\*\*", r"\1", _LABEL.sub("", piece))
            for i, sent in enumerate(_SENTENCE.split(piece)):
                sent = sent.strip()
                if item_label is not None and i == 0 and sent:
                    sent = f"{item_label.group(0).strip('* .:').strip()}: {sent}"
                if len(sent.split()) >= 3 and not sent.endswith(":"):  # "The four daily habits:" is a lead-in
                    out.append(Sentence(sent, name, definition, number, start))
                    start = False
    return out


def sentences(text: str) -> list[str]:
    return [s.text for s in section_sentences(text)]


def stands_alone(sentence: str) -> bool:
    """False for a sentence that points back at context it needs ("It fits after…", "Both are…")."""
    return _DANGLING.search(sentence) is None


def label_index(label: str) -> int:
    for i, name in enumerate(LABELS[:-1]):
        if label.startswith(name) or (name == "common pitfall" and "pitfall" in label):
            return i
    return len(LABELS) - 1


