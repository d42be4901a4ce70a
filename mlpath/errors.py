"""The shell's name for the one error hierarchy, which lives in the leaf package `errors` (so the core can
raise it without importing `mlpath`). Import from `errors`; this name stays only while
knowledge/glossary.py still imports it from here (see the ignored import in pyproject.toml)."""

from errors import MlpathError, UserError

__all__ = ["MlpathError", "UserError"]
