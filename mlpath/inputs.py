"""The one cleaning every member input gets at the edge, in both front ends (Slack and the terminal), before it
reaches the model, the database or a reply.

- NUL and the other control characters (C0 except tab, newline and carriage return; DEL; C1) are removed:
  PostgreSQL `text` cannot hold NUL (an answer was computed and then lost on insert), and control characters
  have no business in a question.
- Lone surrogates (U+D800–U+DFFF in a Python string: JSON's `"\\ud83d"` without its pair, or bytes decoded with
  `surrogateescape`) become U+FFFD: tokenizers and database drivers reject them.

Linear in the text; everything else (emoji, accents, other scripts) passes untouched.
"""

from __future__ import annotations

import re
from typing import Any

_CONTROLS = {c: None for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0)]}
_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """`text` without control characters and with lone surrogates replaced by U+FFFD."""
    return _SURROGATE.sub("\ufffd", text.translate(_CONTROLS))


def clean_tree(value: Any) -> Any:
    """Every string in a JSON-like structure (dicts, lists), cleaned; keys too. Other values are kept."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(k) if isinstance(k, str) else k: clean_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_tree(v) for v in value]
    return value
