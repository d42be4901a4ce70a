"""Metrics and the log line of one answered question (called from the one answering path, Application.ask)."""

from __future__ import annotations

import logging

from knowledge.answer import Answer
from mlpath import metrics

log = logging.getLogger("mlpath.bot")


def observe_answer(surface: str, answer: Answer, seconds: float) -> None:
    """Count and time an answer (refusals, LLM tokens when an LLM wrote it). What was asked stays out of INFO
    logs: the answer log in the database has it."""
    metrics.record_answer(surface, grounded=answer.grounded, seconds=seconds)
    log.info("answered on %s", surface, extra={"surface": surface, "grounded": answer.grounded,
                                               "answerer": answer.answerer, "answer_ms": round(seconds * 1000, 1)})
    if answer.prompt_tokens is not None or answer.completion_tokens is not None:
        metrics.record_llm_tokens(answer.answerer.removeprefix("llm:"), prompt=answer.prompt_tokens,
                                  completion=answer.completion_tokens)
