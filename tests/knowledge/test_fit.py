"""Fitting the answer path's parameters: reproducible, honest about what it was fitted on, one command (issue 24)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from errors import UserError
from knowledge.evaluation import load_answer_evalset
from knowledge.fit import (
    _listwise,
    build_examples,
    evalsets_dir,
    extra_examples,
    fit_model,
    lowo,
    member_sets,
    sets_fingerprint,
)
from knowledge.model import AnswerModel, load_model
from mlpath import cli

FIXTURE_SETS = {"members-1": ["m001", "m003", "m012", "m031", "m046", "m055", "m080", "m093"],
                "members-2": ["n001", "n009", "n021", "n045", "n070", "n088", "n099", "n115"]}
"""A few questions of two sets (guidance, concepts, symptoms, a follow-up, off-topic): enough to fit every model."""


def small_sets(folder: Path) -> Path:
    for name, ids in FIXTURE_SETS.items():
        lines = [line for line in (evalsets_dir() / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
                 if json.loads(line)["id"] in ids]
        (folder / f"{name}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def test_the_listwise_ranker_puts_the_probability_on_the_best_candidates():
    rng = np.random.default_rng(7)
    groups = []
    for _ in range(60):
        x = rng.normal(size=(6, 3))
        best = np.zeros(6, dtype=bool)
        best[int(np.argmax(x[:, 0] - x[:, 1]))] = True  # the best candidate: high first feature, low second
        groups.append((x, best))
    model = _listwise(groups, ["a", "b", "c"], l2=0.01)
    assert model.coef[0] > 0 > model.coef[1] and abs(model.coef[2]) < model.coef[0]
    hits = sum(int(np.argmax(model.decision(x))) == int(np.argmax(b)) for x, b in groups)
    assert hits >= 55


def test_a_broken_model_file_is_one_line(tmp_path: Path):
    bad = tmp_path / "answer_model.json"
    bad.write_text('{"version": 99}', encoding="utf-8")
    with pytest.raises(UserError, match="model version 99"):
        load_model(bad)
    with pytest.raises(UserError, match="is missing"):
        load_model(tmp_path / "none.json")


def test_the_shipped_model_was_fitted_on_the_sets_as_they_are_now():
    """A set that changes without `mlpath fit` fails here: the shipped weights would not be reproducible."""
    model = load_model()
    assert model.meta["sets"] == sets_fingerprint(member_sets()), "run `mlpath fit` (make fit)"
    assert len(model.asked) >= sum(len(items) for items in member_sets().values()) // 2


@pytest.mark.model
def test_fitting_is_deterministic_and_leave_one_writer_out_scores_each_set(curriculum_mentor, tmp_path: Path):
    """Fitting twice in one process gives the same model (a cache once keyed by id() broke that)."""
    sets = member_sets(small_sets(tmp_path))
    answerer = curriculum_mentor.extractive
    labelled, extra = build_examples(answerer, sets), extra_examples(answerer)
    first, second = fit_model(answerer, labelled + extra), fit_model(answerer, labelled + extra)
    assert json.dumps(first.as_json()) == json.dumps(second.as_json())
    assert AnswerModel.from_json(json.loads(json.dumps(first.as_json()))).as_json() == first.as_json()
    results = lowo(answerer, sets, examples=labelled, extra=extra)
    assert [(r.name, r.questions) for r in results] == [("members-1", 8), ("members-2", 8)]
    assert all(0.0 <= r.coverage <= 1.0 and 0.0 <= r.refusal <= 1.0 for r in results)


@pytest.mark.model
def test_the_candidates_come_in_an_order_no_hash_seed_changes(curriculum_mentor):
    """Every process gets the same candidates in the same order, so `mlpath fit` writes the same model in every
    process: the section candidates were once a set of strings, iterated in the order of the process's
    string-hash seed (two fits differed by up to 0.013 in their weights)."""
    answerer = curriculum_mentor.extractive
    for text in ("how do I handle missing values?", "what is regularization and when do i need it"):
        sections = [c.key for c in answerer.ranker.inputs(answerer.understand(text), None).candidates
                    if not c.is_card]
        assert len(sections) > 1 and sections == sorted(sections)


@pytest.mark.subprocess
@pytest.mark.model
def test_mlpath_fit_writes_a_model_the_answerer_loads(tmp_path: Path):
    (tmp_path / "sets").mkdir()
    sets = small_sets(tmp_path / "sets")
    out = tmp_path / "model.json"
    exe = Path(sys.executable).parent / "mlpath"
    env = {**os.environ, "MLPATH_DATA_DIR": str(tmp_path / "data"), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([str(exe), "fit", "--sets", str(sets), "--out", str(out)], capture_output=True,
                          text=True, env=env, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "fitted on 16 questions from 2 member sets" in done.stdout
    model = load_model(out)
    assert set(model.meta["sets"]) == {"members-1", "members-2"} and model.asked
    assert not (tmp_path / "data").exists()  # fitting never touches the member's own data folder


def test_fit_and_lowo_say_what_is_wrong_in_one_line(tmp_path: Path, capsys):
    assert cli.main(["fit", "--sets", str(tmp_path / "nowhere")]) == 2
    assert "--sets takes a folder of member sets" in capsys.readouterr().err
    (tmp_path / "one.jsonl").write_text("", encoding="utf-8")
    assert cli.main(["eval", "--lowo", str(tmp_path / "one.jsonl")]) == 2
    assert "--lowo takes a folder" in capsys.readouterr().err
    assert cli.main(["eval", "--lowo", str(tmp_path)]) == 2
    assert "at least two member sets" in capsys.readouterr().err
    assert cli.main(["eval"]) == 2
    assert "name an eval set" in capsys.readouterr().err


def test_every_member_set_loads_and_has_its_own_writer():
    sets = member_sets()
    assert len(sets) >= 9 and all(len(items) >= 60 for items in sets.values())
    prefixes = {name: {item.id.rstrip("0123456789") for item in items} for name, items in sets.items()}
    assert all(len(p) == 1 for p in prefixes.values()), prefixes
    assert all(load_answer_evalset(evalsets_dir() / f"{name}.jsonl") for name in sets)
