"""Buttons: 👍/👎 on an answer (feedback.py), quiz answers, "Next question", habit check-ins (quiz.py), the
plan's and check-in's buttons and "Offer a review" (mentoring.py)."""

from __future__ import annotations

from slack_bolt import App

from bot.listeners.actions import feedback, mentoring, quiz


def register(app: App) -> None:
    feedback.register(app)
    quiz.register(app)
    mentoring.register(app)
