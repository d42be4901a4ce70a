"""The bundled curriculum: valid against the catalogue, complete, clean text."""

import re

import pytest

from errors import UserError
from ingest.readers import read_file
from knowledge import content_dir
from knowledge.catalogue import catalogue
from knowledge.content import validate_document

FILES = sorted(content_dir().rglob("*.md"))
ALL_TEXT = "\n".join(f.read_text(encoding="utf-8") for f in FILES)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(content_dir()).as_posix())
def test_every_content_file_validates(path):
    doc = read_file(path)
    validate_document(doc, path.name)
    assert doc.repaired_lines == 0


def test_every_catalogue_topic_has_a_section_with_a_mentor_explanation():
    sections = {}
    for path in FILES:
        doc = read_file(path)
        for s in doc.sections:
            if len(s.headings) >= 2:
                sections.setdefault(s.headings[1], []).append(s.text)
    for _level, topic in catalogue().all_topics():
        assert topic.title in sections, topic.id
        body = "\n".join(sections[topic.title])
        labels = ["What you do." if "What you do." in body else "What it is.",
                  "Why it matters", "How to practise.", "Common pitfall."]
        for label in labels:
            assert f"**{label}" in body, (topic.id, label)
        assert len(body.split()) >= 120, topic.id


@pytest.mark.parametrize("fact", [
    "3-6 months", "6-12 months", "12-18 months", "18-24 months",
    "30-60 min/day", "3-5 hours/week", "8-10 hours/month",
    "Aurélien Géron", "Wes McKinney", "Hannes Hapke", "Martin Kleppmann",
    "< 100 ms", "SMOTE", "Isolation Forest", "One-Class SVM", "Airflow", "FastAPI", "Prometheus",
    "Grafana", "Evidently", "Feast", "Tecton", "Databricks Certified Data Engineer Associate",
    "TensorFlow Developer Certificate", "Kaggle Learn", "DataCamp", "Fast.ai",
    "Designing Data-Intensive Applications", "Assess Your Current Level", "Join Communities",
    "Can build ETL pipelines that process GB-TB of data", "Reduced model latency by X%",
])
def test_the_path_facts_are_in_the_content(fact):
    assert fact in ALL_TEXT


def test_no_mojibake_in_bundled_content():
    assert not re.search(r"Ã.|â€|ðŸ", ALL_TEXT)


def test_a_module_file_with_wrong_topics_is_rejected(tmp_path):
    src = content_dir() / "level-2" / "feature-engineering.md"
    broken = tmp_path / "fe.md"
    broken.write_text(src.read_text(encoding="utf-8").replace("## Handling imbalanced data",
                                                              "## Imbalance"), encoding="utf-8")
    with pytest.raises(UserError, match="imbalanced-data"):
        validate_document(read_file(broken), "fe.md")
