"""The application layer between the front ends (bot/ for Slack, mlpath/cli.py and mlpath/terminal.py for the
terminal) and the core (knowledge/, progress/, ingest/). See docs/architecture.md."""

from mlpath.app.commands import COMMANDS, Spec, UsageError, parse
from mlpath.app.service import AppConfig, Application, Who

__all__ = ["COMMANDS", "AppConfig", "Application", "Spec", "UsageError", "Who", "parse"]
