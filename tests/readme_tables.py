"""Read the README's command tables, for the tests that keep them equal to what the commands really are."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def table_after(heading_line: str, text: str | None = None) -> list[str]:
    """First cells of the Markdown table that follows the line starting with `heading_line`."""
    lines = (text if text is not None else README.read_text(encoding="utf-8")).splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(heading_line))
    rows = []
    for line in lines[start if lines[start].startswith("|") else start + 1:]:
        if line.startswith("|"):
            rows.append(line)
        elif rows:
            break
    # cells are split on unescaped pipes (an escaped one stays in its cell); no header, no |---| line
    return [re.split(r"(?<!\\)\|", row)[1].strip() for row in rows[2:]]


def names_in(cell: str, prefix: str = "") -> list[str]:
    """The command word of each code span in a first cell, after an optional prefix:
    "`mlpath export FILE` / `import FILE`" → ["export", "import"]; "`habits` / `done HABIT`" → ["habits", "done"]."""
    return re.findall(r"`(?:" + re.escape(prefix) + r")?([a-z][a-z-]*)[^`]*`", cell)
