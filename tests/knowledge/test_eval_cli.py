"""`mlpath eval` on a set with key points scores the answers (docs/evalsets.md)."""

from __future__ import annotations

import json

import pytest

from tests.test_cli import run, use_data  # noqa: F401 - the CLI fixture on the session's curriculum store

pytestmark = [pytest.mark.model]


def test_eval_scores_answers_per_kind_and_split(use_data, capsys, tmp_path):  # noqa: F811
    evalset = tmp_path / "members.jsonl"
    lines = [
        {"id": "a", "q": "is there a track for infra people", "kind": "guidance", "in_scope": True,
         "key_points": [["Track E"], ["Feature stores"]], "split": "tune"},
        {"id": "b", "q": "and how do i pick lambda?", "after": "what is regularization?", "kind": "followup",
         "in_scope": True, "key_points": [["validation curve"], ["no such phrase"]], "split": "tune"},
        {"id": "c", "q": "best sourdough recipe?", "kind": "out_of_scope", "in_scope": False, "key_points": [],
         "split": "tune"},
        {"id": "d", "q": "what are graph neural networks?", "kind": "borderline", "in_scope": False,
         "key_points": [], "split": "test"},
    ]
    evalset.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    code, out, _ = run(["eval", str(evalset), "--split", "tune", "--json", "--failures"], capsys)
    summary = json.loads(out)
    assert code == 0 and summary["questions"] == 3 and summary["split"] == "tune"
    kinds = summary["kinds"]
    assert kinds["guidance"]["questions"] == kinds["followup"]["questions"] == 1 and "borderline" not in kinds
    # coverage is the mean over the in-scope questions of the split; "b" can find at most one point of two
    assert summary["coverage"] == (kinds["guidance"]["coverage"] + kinds["followup"]["coverage"]) / 2
    assert kinds["followup"]["coverage"] <= 0.5 and summary["refusal"] == 1.0
    assert "b" in [f["id"] for f in summary["failures"]]
    code, out, _ = run(["eval", str(evalset), "--split", "test"], capsys)
    assert code == 0 and "refusal        1.000" in out and "split test" in out


def test_split_on_a_retrieval_set_is_one_error_line(use_data, capsys, tmp_path):  # noqa: F811
    evalset = tmp_path / "e.jsonl"
    evalset.write_text('{"q": "what is SMOTE?", "expect": ["synthetic"]}\n', encoding="utf-8")
    code, _, err = run(["eval", str(evalset), "--split", "test"], capsys)
    assert code == 2 and err.startswith("mlpath: error: ") and "no tune/test split" in err
