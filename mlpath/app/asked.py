"""Which topic an answer was about, for the asked-topic reviews (progress/asked.py).

The one place that couples the answer path's output to the quiz bank: it reads only the sections an `Answer`
cites (`answer.citations[i].section`, the names ingest gives sections, which quiz questions cite too). When the
answer path changes what it returns, this function is what adapts.
"""

from __future__ import annotations

from collections.abc import Mapping

from knowledge.answer import Answer
from knowledge.quizzes import Question


def asked_topic(answer: Answer, bank: Mapping[str, Question]) -> str | None:
    """The quiz topic of the first cited section that has questions; a cited subsection counts for the section
    that contains it ("Level 3 › Monitoring › Drift › PSI" → the questions citing "Level 3 › Monitoring › Drift").
    None for a refusal (its citations are only the nearest sections) or when no cited section has questions."""
    if not answer.grounded:
        return None
    by_section: dict[str, str] = {}
    for q in bank.values():
        by_section.setdefault(q.section, q.topic)
    for citation in sorted(answer.citations, key=lambda c: c.n):
        section = citation.section
        while section:
            if section in by_section:
                return by_section[section]
            section = section.rpartition(" › ")[0]
    return None
