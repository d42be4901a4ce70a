"""The reminder wording (knowledge/nudges.yaml) is data, validated at load."""

from __future__ import annotations

import pytest
import yaml

from errors import UserError
from knowledge import package_dir
from knowledge.nudges import PLACEHOLDERS, load_wording, wording


def test_the_bundled_wording_loads_and_every_group_has_variants():
    words = wording()
    for group in PLACEHOLDERS:
        assert len(getattr(words, group)) >= 2, group
    assert words.pick("greeting", 0, name="Ann") != words.pick("greeting", 1, name="Ann")
    assert "Ann" in words.pick("greeting", 3, name="Ann")


def test_an_unknown_placeholder_fails_with_one_line_naming_the_group(tmp_path):
    data = yaml.safe_load((package_dir() / "nudges.yaml").read_text(encoding="utf-8"))
    data["quiz_due"].append("You have {reviews} due")
    bad = tmp_path / "nudges.yaml"
    bad.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(UserError) as err:
        load_wording(bad)
    assert "quiz_due" in str(err.value) and "reviews" in str(err.value) and "\n" not in str(err.value)
