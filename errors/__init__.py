"""The one exception hierarchy of mlpath, in a leaf that imports nothing of the project.

The core (knowledge/, progress/, ingest/) raises these without knowing who shows them; the shell maps them to
what a person sees: the command line prints a `UserError` as one line `mlpath: error: …` and exits with its
`exit_code` (mlpath/cli.py `main`), the application layer turns a `UsageError` or `MentoringError` into a
one-line reply. Every error mlpath raises on purpose is an `MlpathError`, and its message is one line a person
can act on — never a traceback.

    MlpathError                 every error mlpath raises on purpose (this module)
    ├── UserError               the person can fix it: bad input, a bad setting, an unreachable service
    │   │                       (this module; `mlpath: error: …`, exit code 2)
    │   ├── UsageError          a command typed wrong, phrased for the surface (mlpath/app/commands.py)
    │   ├── MentoringError      bad input to a goal, plan, project or check-in; nothing stored (progress/mentoring.py)
    │   └── EmptyQuestion       a message that is empty once trimmed (knowledge/schema.py)
    ├── ReadError               a file the ingest cannot read; it is skipped with a warning (ingest/readers.py)
    ├── UnknownMember           a member id progress has never seen (progress/service.py)
    ├── CannotCheck             Slack could not say whether a reminder was sent; the claim waits (progress/scheduler.py)
    └── LLMUnavailable          the LLM failed or timed out; the extractive answer is given (knowledge/llm.py)

docs/architecture.md ("Errors") says who catches what.
"""

from __future__ import annotations


class MlpathError(Exception):
    """Every error mlpath raises on purpose: `str(exc)` is one line for a person."""

    exit_code: int = 2
    """The command line's exit code when it stops on this error."""


class UserError(MlpathError):
    """A problem the user can fix (bad input, bad configuration, unreachable service).

    The command line prints ``mlpath: error: <message>`` and exits with ``exit_code``.
    """

    def __init__(self, message: str, *, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


__all__ = ["MlpathError", "UserError"]
