from pathlib import Path

import pytest

from errors import UserError
from knowledge.catalogue import catalogue, load_catalogue


def test_levels_durations_and_tracks_come_from_the_catalogue():
    cat = catalogue()
    assert [(lvl.number, lvl.name, lvl.duration) for lvl in cat.levels] == [
        (1, "Foundations", "3-6 months"),
        (2, "Machine Learning Fundamentals", "6-12 months"),
        (3, "MLOps and Production Systems", "12-18 months"),
        (4, "Advanced Specialization", "18-24 months"),
    ]
    assert [t.id for t in cat.level(4).tracks] == ["A", "B", "C", "D", "E"]
    assert cat.topic("imbalanced-data").covers == "Handling imbalanced data (SMOTE, class weights)"


def test_habits_have_cadence_and_time_budget():
    cat = catalogue()
    daily = cat.habit_list("daily")
    assert len(daily) == 4 and {h.time_budget for h in daily} == {"30-60 min/day"}
    assert {h.time_budget for h in cat.habit_list("weekly")} == {"3-5 hours/week"}
    assert {h.time_budget for h in cat.habit_list("monthly")} == {"8-10 hours/month"}
    assert len(cat.habit_list()) == 12


def test_certifications_and_portfolio_projects():
    cat = catalogue()
    certs = {c.title: (c.difficulty, c.study_months) for c in cat.certifications}
    assert certs["AWS Certified Machine Learning - Specialty"] == ("Advanced", (3, 4))
    assert len(cat.portfolio_projects) == 4
    assert "Low-latency model serving (< 100ms)" in cat.portfolio_projects[1].requirements


def test_a_broken_catalogue_names_the_file_and_the_entry(tmp_path: Path):
    text = (Path(__file__).parents[2] / "knowledge" / "catalogue.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "catalogue.yaml"
    bad.write_text(text.replace("- {id: window-functions,", "- {id: Window Functions!,"), encoding="utf-8")
    with pytest.raises(UserError) as err:
        load_catalogue(bad)
    message = str(err.value)
    assert str(bad) in message and "topics" in message and "Window Functions!" in message
    assert "\n" not in message

    bad.write_text("levels: [unclosed", encoding="utf-8")
    with pytest.raises(UserError, match="not valid YAML"):
        load_catalogue(bad)
