"""Readers: one function per supported format, each returning a `Document` of heading-aware sections.

Markdown keeps its heading tree (headings inside fenced code are code, not headings); HTML uses h1-h6;
PDF has no reliable headings, so each page is a section; plain text is one section named after the file.
All text passes through `textfix.repair` first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from errors import MlpathError
from ingest.textfix import clean_heading, decode, repair

SUPPORTED_SUFFIXES = {".md": "markdown", ".markdown": "markdown", ".txt": "text", ".text": "text",
                      ".html": "html", ".htm": "html", ".pdf": "pdf"}


class ReadError(MlpathError):
    """The file could not be read or parsed; the message says why (the ingest skips it with a warning)."""


@dataclass(frozen=True)
class Section:
    headings: tuple[str, ...]
    """Heading path inside the document, e.g. ("Feature Engineering", "Handling imbalanced data")."""
    text: str


@dataclass
class Document:
    title: str
    sections: list[Section]
    front_matter: dict[str, Any] = field(default_factory=dict)
    repaired_lines: int = 0
    """Lines that still looked like mojibake after repair and lost their non-ASCII characters."""


_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*\n", re.DOTALL)
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*$")
_FENCE = re.compile(r"^[ \t]*(```|~~~)")


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    try:
        data = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        raise ReadError(f"front matter is not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise ReadError("front matter must be a mapping")
    return data, text[match.end():]


def parse_markdown(text: str, *, fallback_title: str) -> Document:
    fixed = repair(text)
    front, body = split_front_matter(fixed.text)
    sections: list[Section] = []
    stack: list[tuple[int, str]] = []
    buf: list[str] = []
    in_code = False

    def flush() -> None:
        content = "\n".join(buf).strip()
        if content:
            sections.append(Section(tuple(h for _, h in stack), content))
        buf.clear()

    for line in body.split("\n"):
        if _FENCE.match(line):
            in_code = not in_code
            buf.append(line)
            continue
        match = None if in_code else _HEADING.match(line)
        if match:
            flush()
            depth = len(match.group(1))
            title = clean_heading(match.group(2))
            while stack and stack[-1][0] >= depth:
                stack.pop()
            if title:
                stack.append((depth, title))
        else:
            buf.append(line)
    flush()
    h1 = next((s.headings[0] for s in sections if s.headings), None)
    return Document(title=h1 or fallback_title, sections=sections, front_matter=front,
                    repaired_lines=fixed.dropped_lines)


def parse_text(text: str, *, fallback_title: str) -> Document:
    fixed = repair(text)
    content = fixed.text.strip()
    sections = [Section((fallback_title,), content)] if content else []
    return Document(title=fallback_title, sections=sections, repaired_lines=fixed.dropped_lines)


_BLOCKS = ["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "pre", "blockquote", "td", "th", "dt", "dd",
           "figcaption"]


def parse_html(text: str, *, fallback_title: str) -> Document:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(text, "html.parser")
    for tag in soup(["script", "style", "nav", "footer", "header", "noscript", "template", "svg"]):
        tag.decompose()
    title_tag = soup.find("title")
    title = clean_heading(repair(title_tag.get_text(" ")).text) if title_tag else ""
    sections: list[Section] = []
    stack: list[tuple[int, str]] = []
    buf: list[str] = []
    dropped = 0

    def flush() -> None:
        content = "\n\n".join(buf).strip()
        if content:
            sections.append(Section(tuple(h for _, h in stack) or (title or fallback_title,), content))
        buf.clear()

    root = soup.body or soup
    for el in root.find_all(_BLOCKS):
        name = el.name or ""
        if name[0] == "h" and name[1:].isdigit():
            flush()
            depth = int(name[1:])
            fixed = repair(el.get_text(" ", strip=True))
            dropped += fixed.dropped_lines
            heading = clean_heading(fixed.text)
            while stack and stack[-1][0] >= depth:
                stack.pop()
            if heading:
                stack.append((depth, heading))
            continue
        if el.find(_BLOCKS) is not None:
            continue  # its text is collected from the inner blocks
        raw = el.get_text("\n" if name == "pre" else " ", strip=name != "pre")
        fixed = repair(raw)
        dropped += fixed.dropped_lines
        piece = fixed.text.strip() if name == "pre" else re.sub(r"\s+", " ", fixed.text).strip()
        if piece:
            buf.append(f"- {piece}" if name == "li" else piece)
    flush()
    first = next((s.headings[0] for s in sections if s.headings), None)
    return Document(title=title or first or fallback_title, sections=sections, repaired_lines=dropped)


def parse_pdf(path: Path, *, fallback_title: str) -> Document:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        meta_title = (reader.metadata.title if reader.metadata else None) or ""
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, OSError) as exc:
        raise ReadError(f"not a readable PDF ({exc})") from None
    title = clean_heading(repair(meta_title).text) or fallback_title
    sections: list[Section] = []
    dropped = 0
    for number, raw in enumerate(pages, start=1):
        fixed = repair(raw)
        dropped += fixed.dropped_lines
        text = re.sub(r"[ \t]+", " ", fixed.text).strip()
        if text:
            sections.append(Section((title, f"page {number}"), text))
    return Document(title=title, sections=sections, repaired_lines=dropped)


def read_file(path: Path) -> Document:
    """Read one supported file. Raises ReadError for unsupported, unreadable or empty files."""
    kind = SUPPORTED_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise ReadError(f"unsupported file type {path.suffix or '(none)'!r}")
    fallback = path.stem.replace("_", " ").replace("-", " ").strip() or path.name
    if kind == "pdf":
        return parse_pdf(path, fallback_title=fallback)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ReadError(f"cannot read it ({exc.strerror or exc})") from None
    if b"\x00" in raw[:8192]:
        raise ReadError("looks like a binary file, not text")
    text = decode(raw)
    if kind == "markdown":
        return parse_markdown(text, fallback_title=fallback)
    if kind == "html":
        return parse_html(text, fallback_title=fallback)
    return parse_text(text, fallback_title=fallback)
