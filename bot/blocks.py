"""Block Kit builders: pure functions from core results to Slack blocks, no Slack calls.

Every text that did not come from this file (answers, retrieved passages, section names, the member's own
words) goes through `escape`, so nobody can make the bot post `<!channel>`, `<@U…>` or a disguised link.
Texts are cut to Slack's limits: 3,000 characters per section block, 40,000 per message.
"""

from __future__ import annotations

import re
from typing import Any

from knowledge.answer import Answer

SECTION_LIMIT = 3000
MESSAGE_LIMIT = 40_000
FEEDBACK_UP = "answer_feedback_up"
FEEDBACK_DOWN = "answer_feedback_down"


def escape(text: str) -> str:
    """Slack's three control characters, escaped: & < > (see Slack's "Formatting text" reference)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    # never cut inside an escape sequence such as &amp;
    cut = re.sub(r"&[a-z]{0,4}$", "", cut)
    return cut.rstrip() + "…"


def _mrkdwn_answer(text: str) -> str:
    """Our answer text is plain prose with `code` spans and [n] markers; escape, then keep `code`."""
    return escape(text)


def _sections(text: str) -> list[dict[str, Any]]:
    """Split a long text at paragraph boundaries into section blocks within Slack's limit."""
    blocks: list[dict[str, Any]] = []
    current = ""
    for para in text.split("\n\n"):
        candidate = f"{current}\n\n{para}" if current else para
        if len(candidate) <= SECTION_LIMIT:
            current = candidate
            continue
        if current:
            blocks.append(_section(current))
        current = clip(para, SECTION_LIMIT)
    if current:
        blocks.append(_section(current))
    return blocks


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def answer_text(answer: Answer) -> str:
    """The notification/fallback text of an answer message."""
    return clip(escape(answer.text), MESSAGE_LIMIT)


def build_answer(answer: Answer, *, feedback_value: str = "") -> list[dict[str, Any]]:
    """An answer: the text, numbered sources (or the nearest sections of a refusal), 👍/👎 buttons."""
    blocks = _sections(_mrkdwn_answer(answer.text))
    if answer.citations:
        label = "Sources" if answer.grounded else "Nearest sections"
        lines = [f"*{label}*"] + [f"[{c.n}] {escape(c.section)}" for c in answer.citations]
        blocks.append({"type": "context", "elements": [
            {"type": "mrkdwn", "text": clip("\n".join(lines), SECTION_LIMIT)}]})
    if answer.grounded:
        blocks.append({
            "type": "actions",
            "block_id": "answer_feedback",
            "elements": [
                {"type": "button", "action_id": FEEDBACK_UP, "text": {"type": "plain_text", "text": "👍 Helpful"},
                 "value": feedback_value[:2000]},
                {"type": "button", "action_id": FEEDBACK_DOWN,
                 "text": {"type": "plain_text", "text": "👎 Not helpful"}, "value": feedback_value[:2000]},
            ],
        })
    return blocks


def build_text(text: str) -> list[dict[str, Any]]:
    """A plain message we wrote ourselves (help, errors); still escaped, since it may quote the member."""
    return _sections(escape(text))


def build_feedback_thanks(helpful: bool) -> list[dict[str, Any]]:
    word = "helpful" if helpful else "not helpful"
    return [{"type": "context", "elements": [
        {"type": "mrkdwn", "text": f"Thanks, noted as {word}. It helps us find gaps in the curriculum."}]}]


def build_text_mrkdwn(text: str) -> list[dict[str, Any]]:
    """A message written by us with mrkdwn formatting; anything quoted from a member inside it must
    already have been passed through `escape`."""
    return _sections(text)
