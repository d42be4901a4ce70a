"""Repair text on the way in: decode bytes sensibly, undo mojibake, drop what can't be repaired.

Files like the original learning path were UTF-8 decoded as Windows-1252 somewhere on their way
("ðŸŽ¯" for 🎯, "AurÃ©lien GÃ©ron" for Aurélien Géron). ftfy reverses exactly that kind of damage; whatever
it cannot explain is removed rather than stored as garbage.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import ftfy
from ftfy.badness import is_bad

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")


@dataclass(frozen=True)
class Repaired:
    text: str
    changed: bool
    dropped_lines: int
    """Lines that still looked like mojibake after repair and had their non-ASCII characters removed."""


def decode(raw: bytes) -> str:
    """Decode file bytes: UTF-8 (with or without BOM) first, then Windows-1252, then Latin-1."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def repair(text: str) -> Repaired:
    fixed = ftfy.fix_text(text, normalization="NFC")
    dropped = 0
    lines = []
    for line in fixed.split("\n"):
        if is_bad(line):
            dropped += 1
            line = "".join(ch for ch in line if ord(ch) < 128)
        lines.append(_CONTROL.sub("", line))
    out = "\n".join(lines)
    return Repaired(text=out, changed=out != text, dropped_lines=dropped)


def clean_heading(text: str) -> str:
    """A heading as a readable section name: no Markdown emphasis, no leading emoji or symbols."""
    text = re.sub(r"[*_`]+", "", text).strip().rstrip("#").strip()
    i = 0
    while i < len(text) and (unicodedata.category(text[i])[0] in "SZC" or text[i] == "\ufe0f"):
        i += 1
    return re.sub(r"\s+", " ", text[i:]).strip()
