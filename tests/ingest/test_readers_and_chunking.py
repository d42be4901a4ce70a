from pathlib import Path

import pytest

from ingest.chunking import MAX_WORDS, chunk_document, split_text
from ingest.readers import ReadError, parse_markdown, read_file

MARKDOWN = """---
level: 2
module: feature-engineering
---
# Feature Engineering

Intro.

## Handling imbalanced data

SMOTE creates synthetic minority samples.

```python
# this is a comment, not a heading
smote = SMOTE(random_state=42)
```

### Class weights

Weights make errors on the rare class cost more.
"""


def test_markdown_keeps_the_heading_path_and_ignores_hashes_in_code():
    doc = parse_markdown(MARKDOWN, fallback_title="x")
    assert doc.front_matter == {"level": 2, "module": "feature-engineering"}
    assert [s.headings for s in doc.sections] == [
        ("Feature Engineering",),
        ("Feature Engineering", "Handling imbalanced data"),
        ("Feature Engineering", "Handling imbalanced data", "Class weights"),
    ]
    assert "# this is a comment" in doc.sections[1].text


def test_chunks_carry_readable_section_names_level_and_topic():
    doc = parse_markdown(MARKDOWN, fallback_title="x")
    chunks = chunk_document(doc, source="fe.md", kind="curriculum",
                            topics_by_heading={"Handling imbalanced data": "imbalanced-data"})
    names = [c.section for c in chunks]
    assert "Level 2 › Feature Engineering › Handling imbalanced data" in names
    smote = next(c for c in chunks if "SMOTE creates" in c.text)
    assert (smote.level, smote.module, smote.topic, smote.kind) == (2, "feature-engineering",
                                                                     "imbalanced-data", "curriculum")
    assert smote.embed_text.startswith("Level 2 › Feature Engineering › Handling imbalanced data\n\n")


def test_chunk_ids_are_stable_and_depend_on_source_and_content():
    doc = parse_markdown(MARKDOWN, fallback_title="x")
    a = [c.id for c in chunk_document(doc, source="a.md")]
    assert a == [c.id for c in chunk_document(doc, source="a.md")]
    assert set(a).isdisjoint(c.id for c in chunk_document(doc, source="b.md"))
    assert len(set(a)) == len(a)


def test_long_sections_are_split_under_the_word_budget():
    text = "\n\n".join(" ".join(f"word{i}" for i in range(60)) + "." for _ in range(10))
    pieces = split_text(text)
    assert len(pieces) > 3 and all(len(p.split()) <= MAX_WORDS for p in pieces)
    one_huge_sentence = " ".join("w" for _ in range(1000))
    assert all(len(p.split()) <= MAX_WORDS for p in split_text(one_huge_sentence))


def test_html_is_read_by_headings(tmp_path: Path):
    page = tmp_path / "guide.html"
    page.write_text("<html><head><title>Team Guide</title><script>var x=1;</script></head><body>"
                    "<h1>Team Guide</h1><p>Welcome.</p><h2>Deploying models</h2>"
                    "<p>We deploy with KServe &amp; Argo.</p><ul><li>canary first</li></ul></body></html>",
                    encoding="utf-8")
    doc = read_file(page)
    assert doc.title == "Team Guide"
    deploy = next(s for s in doc.sections if s.headings[-1] == "Deploying models")
    assert "KServe & Argo" in deploy.text and "- canary first" in deploy.text
    assert all("var x" not in s.text for s in doc.sections)


def test_pdf_pages_become_sections(tmp_path: Path):
    from reportlab.pdfgen import canvas

    pdf = tmp_path / "notes.pdf"
    c = canvas.Canvas(str(pdf))
    c.setTitle("Drift Notes")
    c.drawString(72, 720, "Population stability index compares two distributions.")
    c.showPage()
    c.drawString(72, 720, "Retrain when drift persists for two weeks.")
    c.save()
    doc = read_file(pdf)
    assert [s.headings for s in doc.sections] == [("Drift Notes", "page 1"), ("Drift Notes", "page 2")]
    assert "Population stability index" in doc.sections[0].text


def test_plain_text_and_bad_files(tmp_path: Path):
    txt = tmp_path / "team_notes.txt"
    txt.write_text("Our GPU budget is 200 hours a month.", encoding="utf-8")
    assert read_file(txt).sections[0].headings == ("team notes",)
    with pytest.raises(ReadError, match="unsupported"):
        read_file(tmp_path / "image.png")
    binary = tmp_path / "blob.md"
    binary.write_bytes(b"\x00\x01\x02binary")
    with pytest.raises(ReadError, match="binary"):
        read_file(binary)
    broken_pdf = tmp_path / "broken.pdf"
    broken_pdf.write_bytes(b"%PDF-1.4 this is not really a pdf")
    with pytest.raises(ReadError, match="PDF"):
        read_file(broken_pdf)
