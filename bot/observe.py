"""Metrics around the listeners' calls into the core (the answering path itself stays in services.py)."""

from __future__ import annotations

import logging
import time
from typing import Any

from bot.services import BotServices, Reply
from mlpath import metrics

log = logging.getLogger("mlpath.bot")


def observed_reply(services: BotServices, **kwargs: Any) -> Reply:
    """`services.reply_to_question(**kwargs)`, timed and counted (answers, refusals, LLM tokens when the
    answerer reports them). Rate-limited and empty questions produce no answer and are not counted."""
    started = time.perf_counter()
    reply = services.reply_to_question(**kwargs)
    if reply.answer is not None:
        surface = str(kwargs.get("surface") or "other")
        seconds = time.perf_counter() - started
        metrics.record_answer(surface, grounded=reply.answer.grounded, seconds=seconds)
        # what was asked stays out of INFO logs: the answer log in the database has it
        log.info("answered on %s", surface, extra={"surface": surface, "grounded": reply.answer.grounded,
                                                   "answer_ms": round(seconds * 1000, 1)})
        usage = getattr(reply.answer, "usage", None)  # set by LLM answerers (prompt/completion tokens)
        if usage is not None:
            metrics.record_llm_tokens(str(getattr(usage, "model", "") or "llm"),
                                      prompt=getattr(usage, "prompt_tokens", None),
                                      completion=getattr(usage, "completion_tokens", None))
    return reply
