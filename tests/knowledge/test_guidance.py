"""Understanding messages and rendering guidance cards: fast, no model (issue 24).

Cards are rendered with a deterministic stand-in for the embedding model: these tests check the arithmetic and
the wording that come from the catalogue (durations, pace, time budgets, retired certifications, what is said
about a member whose level is unknown), not which entity a message means (that needs the real model:
tests/knowledge/test_pipeline.py).
"""

from __future__ import annotations

import ast
import hashlib
import re
from pathlib import Path

import numpy as np
import pytest

from errors import UserError
from knowledge import package_dir
from knowledge.cards import CARD_IDS, CardContext, CardDeck, load_cards, scope_line
from knowledge.catalogue import catalogue
from knowledge.member import MemberContext
from knowledge.schema import Citation, Turn
from knowledge.sentences import stands_alone
from knowledge.understand import (
    PATTERNS,
    Vocabulary,
    identifier_words,
    load_vocabulary,
    slots,
    split_code,
    understand,
)


def fake_encode(texts: list[str]) -> np.ndarray:
    """Deterministic unit vectors from each text's hash: stands in for MiniLM where meaning is not tested."""
    out = []
    for text in texts:
        seed = int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)
        v = np.random.default_rng(seed).normal(size=16)
        out.append(v / np.linalg.norm(v))
    return np.array(out)


VOCAB = Vocabulary(["validation", "regularisation", "overfitting", "kubernetes", "docker"], frozenset(
    ["the", "my", "is", "what", "model", "keeps", "with", "error", "a", "server"]))


def ctx(text: str, member: MemberContext | None = None, history: tuple[Turn, ...] = ()) -> CardContext:
    u = understand(text, history, VOCAB, max_chars=500)
    return CardContext(u, member, fake_encode([u.main])[0])


def deck() -> CardDeck:
    return CardDeck(catalogue(), fake_encode)


def card_text(card_id: str, text: str, member: MemberContext | None = None) -> str:
    card = deck().render(card_id, ctx(text, member))
    assert card is not None, (card_id, text)
    return " ".join(p.text for p in card.paragraphs) + " " + card.next_step


# ----- understanding -----
def test_code_blocks_inline_code_and_log_lines_are_split_from_the_prose():
    message = ("my model keeps crashing on the server:\n```\nTraceback (most recent call last):\n"
               "  File \"/app/serve.py\", line 3, in <module>\nModuleNotFoundError: No module named 'flask'\n```\n"
               "works on my laptop tho")
    prose, code = split_code(message)
    assert prose == "my model keeps crashing on the server: works on my laptop tho"
    assert "ModuleNotFoundError" in code
    assert {"module", "not", "found", "error", "flask"} <= set(identifier_words(code))
    prose, code = split_code("why is `df.groupby('a').transform('sum')` different from agg?")
    assert "transform" in prose and "groupby" in identifier_words(code)


def test_a_pasted_error_is_searched_by_what_it_is_about_not_refused_or_dropped():
    u = understand("```\nKeyError: 'amount'\n```", (), VOCAB, max_chars=500)
    assert u.prose == "" and "key" in u.search and "amount" in u.search  # the error's words are the search


def test_slack_markup_is_resolved_and_whitespace_collapsed():
    u = understand("<@U123ABC> how do I use <https://docs.docker.com|docker> here?", (), VOCAB, max_chars=500)
    assert u.text == "how do I use docker here?"


def test_slots_read_levels_tracks_months_and_hours():
    found = slots("im on lvl 2, 8 months in, can do 5 hrs/wk, thinking track c or d")
    assert found.levels == (2,) and found.tracks == ("C", "D") and found.months == 8
    assert found.hours_per_week == 5 and found.hours_said == "5 hours a week"
    assert slots("an hour a day").hours_per_week == 7
    assert slots("after a year").months == 12 and slots("level 2 or level 3").level is None


def test_vocabulary_repairs_misspellings_and_adds_the_curriculums_words_never_removes_any():
    assert VOCAB.correct("whats a valdiation set") == "whats a validation set"
    assert "Kubernetes" in VOCAB.expand("my k8s pod restarts")
    assert "regularization" in VOCAB.expand("what is regularisation")
    assert VOCAB.correct("txns imgs tmrw") == "txns imgs tmrw"  # unknown words stay what they are


def test_a_follow_up_gets_a_standalone_form_and_the_threads_level():
    history = (Turn("user", "what book should i use for level 2?"),
               Turn("assistant", "Hands-On Machine Learning [1]", (Citation(1, "Level 2 › Resources", "l2.md"),)))
    u = understand("anything thats not a book?", history, VOCAB, max_chars=500)
    assert u.follows and u.standalone.startswith("what book should i use for level 2?")
    assert u.slots.levels == (2,) and u.previous[0].section == "Level 2 › Resources"
    assert not understand("what is docker?", (), VOCAB, max_chars=500).follows


def test_a_broken_vocabulary_file_is_one_line_naming_the_file_and_entry(tmp_path: Path):
    bad = tmp_path / "vocabulary.yaml"
    bad.write_text("terms:\n  Two Words: x\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"vocabulary.yaml: terms"):
        load_vocabulary(bad)
    bad.write_text("spellings: [[only-one]]\n", encoding="utf-8")
    with pytest.raises(UserError, match="spelling group"):
        load_vocabulary(bad)


def test_the_card_file_has_every_card_and_nothing_else(tmp_path: Path):
    assert list(load_cards()) == list(CARD_IDS)
    bad = tmp_path / "cards.yaml"
    bad.write_text("cards:\n  start: {title: x, about: y, examples: [a]}\n", encoding="utf-8")
    with pytest.raises(UserError, match="missing certification, contents"):
        load_cards(bad)


# ----- cards: catalogue facts and what is known about the member -----
def test_the_timeline_reads_each_levels_range_as_its_own_time():
    text = card_text("timeline", "where should i be after 12 months?")
    assert "Level 2" in text and "3-6 months" in text and "39-60 months" in text and "not deadlines" in text


def test_no_level_or_pace_is_claimed_for_a_member_whose_level_is_unknown():
    unknown = card_text("timeline", "8 months in, am i behind?", MemberContext(days_since_joined=240))
    assert "You're at" not in unknown and "behind the path's pace" not in unknown
    assert "placement quiz" in unknown
    placed = card_text("timeline", "8 months in, am i behind?", MemberContext(level=1, placement_level=1))
    assert "You're at Level 1" in placed and "behind the path's pace" in placed
    said = card_text("timeline", "8 months in and still on level 1, am i behind?")  # the member says it
    assert "You're at Level 1" in said
    assert "placement quiz" in card_text("next", "what should i do next?")
    assert "Level 3" in card_text("next", "what should i do next?", MemberContext(level=2, placement_level=2))


def test_the_time_budget_gives_a_verdict_from_the_habit_budgets():
    assert card_text("time_budget", "is 10 hours a week enough?").startswith("Yes, 10 hours a week is enough")
    low = card_text("time_budget", "i can only do 2 hours a week, is that enough")
    assert "below the path's pace" in low and "8-14 hours a week" in low


def test_retired_certifications_are_never_offered_as_current_options():
    cat = catalogue()
    retired = [c.title for c in cat.certifications if c.availability]
    assert retired  # the content says two exams are retired
    cards = deck()
    for text in ("which certification should i take first?", "any cert worth doing after level 2?"):
        card = cards.render("certification", ctx(text))
        assert card is not None
        options = next((p.text for p in card.paragraphs if "the current ones are" in p.text), "")
        current = options.split("the current ones are", 1)[-1].split("Retired:", 1)[0]
        assert not any(title in current for title in retired), options
        if card.subject in retired:
            assert any(p.text.startswith("Note: ") for p in card.paragraphs)


def test_durations_and_goals_come_from_the_catalogue():
    assert "12-18 months" in card_text("duration", "how long is level 3?")
    assert "39-60 months, about 3 to 5 years" in card_text("duration", "how long does the whole path take?")
    assert "Level 4" in card_text("duration", "how long is track b?")
    assert deck().render("goals", ctx("what should i aim for in the next 3 months?")) is None  # no level known
    goals = card_text("goals", "goals for the next 3 months?", MemberContext(level=2, placement_level=2))
    assert goals.startswith("Goals at Level 2: 3 months:")


def test_the_sources_card_lists_the_previous_answers_sections():
    history = (Turn("user", "what is smote"),
               Turn("assistant", "SMOTE … [1]", (Citation(1, "Level 2 › Feature Engineering › Imbalanced", "f.md"),)))
    card = deck().render("sources", ctx("where is that from?", history=history))
    assert card is not None and "Feature Engineering" in card.paragraphs[0].text
    empty = deck().render("sources", ctx("show me the sources"))
    assert empty is not None and "no earlier answer" in empty.paragraphs[0].text


def test_the_scope_line_comes_from_the_catalogue():
    assert "1 Foundations" in scope_line(catalogue()) and "5 specialization tracks" in scope_line(catalogue())


def test_sentences_that_point_back_do_not_stand_alone():
    assert not stands_alone("It fits after Level 2, once you know neural networks basics.")
    assert not stands_alone("Both are strong defaults for tabular problems.")
    assert stands_alone("SMOTE creates synthetic minority samples.")


# ----- the rule count -----
ANSWER_PATH = ("answer.py", "understand.py", "rank.py", "cards.py", "compose.py", "fit.py", "model.py", "llm.py",
               "sentences.py", "schema.py")
MAX_PHRASE_PATTERNS = 20


def test_the_answer_path_has_at_most_twenty_phrase_patterns():
    """Issue 24: at most 20 hand-written phrase patterns in the whole answer path. Every regular expression
    the answer path matches against a member's message is in `understand.PATTERNS` (docs/retrieval.md lists
    them); the other modules compile patterns only for the curriculum's text (sentences.py), for the LLM's
    reply (llm.py) or not at all. This test fails when a module of the answer path compiles a pattern outside
    those places, or when the count grows past the limit."""
    allowed_elsewhere = {"sentences.py": 5, "llm.py": 99, "understand.py": len(PATTERNS) + 2}
    """sentences.py: code blocks, labels, sentence ends, list items, dangling openings (curriculum text only);
    llm.py: citation markers in the model's reply; understand.py: PATTERNS plus two tokenisers (words, identifier
    parts), which split any text and look for no phrase."""
    for name in ANSWER_PATH:
        tree = ast.parse((package_dir() / name).read_text(encoding="utf-8"))
        compiled = [node for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "compile" and getattr(node.func.value, "id", "") == "re"]
        assert len(compiled) <= allowed_elsewhere.get(name, 0), (name, len(compiled))
    assert len(PATTERNS) <= MAX_PHRASE_PATTERNS
    vocabulary = (package_dir() / "vocabulary.yaml").read_text(encoding="utf-8")
    assert not re.search(r"^\s*-?\s*when:", vocabulary, re.MULTILINE)  # vocabulary is words, not patterns
