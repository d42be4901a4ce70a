"""Answers to questions as members type them, with the real model and the bundled curriculum (issue 13)."""

from __future__ import annotations

import re

import pytest

from knowledge import package_dir
from knowledge.answer import Turn
from knowledge.evaluation import evaluate_answers, load_answer_evalset
from knowledge.intents import load_examples, load_off_topic
from knowledge.member import MemberContext

# The held-out half of knowledge/evalset-members.jsonl and the fresh held-out set 8 (run once), measured when the
# figures were last reported (docs/retrieval.md, round 4: 0.874 / 1.000 and 0.854 / 0.929). They are floors: a
# change that lowers them fails here.
HELD_OUT_COVERAGE = 0.86
HELD_OUT_REFUSAL = 0.90
HELD_OUT_SETS = {"evalset-members-8.jsonl": (0.85, 0.92)}
"""Fresh held-out sets, each run once when it was written; a set becomes a tuning set once it has been reported
and its failures read (sets 4, 5 and 7 did)."""
# The independently written tuning sets (docs/evalsets.md). Sets 4, 5 and 7 were held-out sets, each run once
# (0.781 / 0.938, 0.886 / 0.857, 0.742 / 0.786) and tuning sets afterwards. Last measured (round 4) 0.939 / 0.949,
# 0.853 / 0.925, 0.938 / 1.000, 0.970 / 0.929, 0.874 / 1.000 and 0.884 / 0.786: floors against regressions, not
# tuning targets.
TUNING_FLOORS = {"evalset-members-2.jsonl": (0.93, 0.94), "evalset-members-3.jsonl": (0.84, 0.92),
                 "evalset-members-4.jsonl": (0.93, 0.93), "evalset-members-5.jsonl": (0.96, 0.92),
                 "evalset-members-6.jsonl": (0.86, 0.95), "evalset-members-7.jsonl": (0.87, 0.78)}


@pytest.mark.model
def test_held_out_half_of_the_members_set_does_not_regress(curriculum_mentor):
    items = load_answer_evalset(package_dir() / "evalset-members.jsonl", split="test")
    assert len(items) >= 50
    report = evaluate_answers(curriculum_mentor.ask, items)
    assert report.coverage() >= HELD_OUT_COVERAGE, report.summary()
    assert report.refusal() >= HELD_OUT_REFUSAL, report.summary()


@pytest.mark.parametrize("name", sorted(HELD_OUT_SETS))
@pytest.mark.model
def test_the_fresh_held_out_sets_do_not_regress(curriculum_mentor, name):
    coverage, refusal = HELD_OUT_SETS[name]
    items = load_answer_evalset(package_dir() / name)
    assert len(items) == 80 and {i.split for i in items} == {"test"}
    report = evaluate_answers(curriculum_mentor.ask, items)
    assert report.coverage() >= coverage and report.refusal() >= refusal, report.summary()


@pytest.mark.parametrize("name", sorted(TUNING_FLOORS))
@pytest.mark.model
def test_the_independent_tuning_sets_do_not_regress(curriculum_mentor, name):
    items = load_answer_evalset(package_dir() / name)
    assert len(items) >= 60 and {i.split for i in items} == {"tune"}
    report = evaluate_answers(curriculum_mentor.ask, items)
    coverage, refusal = TUNING_FLOORS[name]
    assert report.coverage() >= coverage and report.refusal() >= refusal, report.summary()
    # at most 2% of the in-scope questions refused, or one question on a set smaller than 50
    assert report.false_refusals() <= max(0.02, 1 / sum(r.item.in_scope for r in report.results)), report.summary()


@pytest.mark.model
def test_a_guidance_answer_names_the_track_and_cites_the_content(curriculum_mentor):
    answer = curriculum_mentor.ask("is there a track for infra people?")
    assert answer.grounded and answer.text.startswith("Track E — MLOps & Platform Engineering:")
    assert answer.citations[0].section == "Level 4 › Advanced Specialization › Choosing your specialization track"
    assert answer.citations[0].source == "curriculum/level-4/index.md"
    assert answer.text.rstrip().splitlines()[-1].startswith("Next step:")


@pytest.mark.model
def test_the_members_own_state_shapes_guidance(curriculum_mentor):
    placed = curriculum_mentor.ask("where should I start?", member=MemberContext(placement_level=2))
    assert placed.text.startswith("Start at Level 2") and "placement quiz put you at Level 2" in placed.text
    ahead = curriculum_mentor.ask("I'm 5 months in, where should I be?", member=MemberContext(level=3))
    assert "You're at Level 3 — MLOps and Production Systems (12-18 months): ahead of the path's pace" in ahead.text


@pytest.mark.model
def test_timeline_answers_read_each_levels_range_as_its_own_time_as_the_content_does(curriculum_mentor):
    """content/overview.md: each range is the time that level takes on its own, so the ends add up."""
    behind = curriculum_mentor.ask("8 months and im still on foundations... am i behind?")
    assert behind.text.startswith("After 8 months you'd typically be in Level 2")
    assert "You're at Level 1 — Foundations (3-6 months): behind the path's pace" in behind.text
    whole = curriculum_mentor.ask("how long does the whole path take end to end?")
    assert "39-60 months, about 3 to 5 years" in whole.text
    level3 = curriculum_mentor.ask("how long does level 3 take?")
    assert "after Levels 1-2 (typically 9-18 months together)" in level3.text


@pytest.mark.model
def test_a_symptom_in_everyday_words_reaches_the_concept(curriculum_mentor):
    answer = curriculum_mentor.ask("my model does great on training data but terrible on test data")
    assert answer.grounded and answer.citations[0].section == "Level 2 › Model Evaluation › Bias-variance tradeoff"
    assert "overfitting" in answer.text


@pytest.mark.model
def test_regularization_in_american_spelling_lands_in_level_2_not_track_c(curriculum_mentor):
    answer = curriculum_mentor.ask("what is regularization?")
    assert answer.grounded and answer.citations[0].section.startswith("Level 2 ›")


@pytest.mark.model
def test_a_follow_up_about_lambda_stays_with_regularisation(curriculum_mentor):
    first = curriculum_mentor.ask("what is regularization?")
    history = [Turn("user", "what is regularization?"), Turn("assistant", first.text, tuple(first.citations))]
    answer = curriculum_mentor.ask("and how do I pick lambda?", history=history)
    assert answer.grounded
    assert all("Functional programming" not in c.section for c in answer.citations)
    assert all(c.section.startswith("Level 2 ›") for c in answer.citations)
    assert "validation curve" in answer.text.lower()  # how the strength is chosen, not Python's lambda


@pytest.mark.model
def test_show_me_the_sources_lists_the_previous_answers_sources(curriculum_mentor):
    first = curriculum_mentor.ask("how do I detect data drift?")
    kept = [Turn("user", "how do I detect data drift?"), Turn("assistant", first.text, tuple(first.citations))]
    answer = curriculum_mentor.ask("show me the sources", history=kept)
    assert answer.citations == first.citations and answer.text.startswith("My last answer comes from:")
    # Slack threads carry no citations: the previous question is answered again to find them
    plain = [Turn("user", "how do I detect data drift?"), Turn("assistant", first.text)]
    assert curriculum_mentor.ask("where is that from?", history=plain).citations == first.citations
    nothing = curriculum_mentor.ask("show me the sources")
    assert not nothing.grounded and nothing.citations == []


@pytest.mark.model
def test_subjects_the_path_does_not_teach_are_refused_with_a_related_section(curriculum_mentor):
    gnn = curriculum_mentor.ask("what are graph neural networks?")
    assert not gnn.grounded and gnn.text.startswith("The learning path doesn't cover that (graph neural networks)")
    assert [c.section for c in gnn.citations] == ["Level 2 › Supervised Learning › Neural networks basics"]
    assert "The nearest it has is [1] Level 2 › Supervised Learning › Neural networks basics." in gnn.text
    unknown = curriculum_mentor.ask("explain naive bayes")  # not in the glossary: "bayes" occurs nowhere
    assert not unknown.grounded and "(naive bayes)" in unknown.text


@pytest.mark.model
def test_composed_answers_keep_list_labels_and_never_open_on_a_dangling_sentence(curriculum_mentor):
    latency = curriculum_mentor.ask("how do I show I reduced model latency in my review?")
    assert latency.grounded and "Reduced model latency by X%:" in latency.text
    habits = curriculum_mentor.ask("what are the daily habits?")  # answered from the catalogue
    assert habits.text.startswith("Daily habits (30-60 min/day): Read 1 research paper or blog post;")
    assert habits.citations[0].section == "Continuous Learning Habits › Daily habits"
    for q in ["what does SMOTE actually do?", "xgboost or lightgbm?", "when does the TensorFlow certificate fit?",
              "what is a feature store?"]:
        answer = curriculum_mentor.ask(q)
        opening = answer.text.split("\n\n")[0]
        assert not re.match(r"(It|Both|This|They|Apply it)\b", opening), (q, opening)


@pytest.mark.model
def test_a_weak_quiz_topic_changes_the_closing_line(curriculum_mentor):
    plain = curriculum_mentor.ask("what does SMOTE actually do?")
    assert plain.text.splitlines()[-1].startswith("Next step: check yourself with a quiz on Handling imbalanced data")
    weak = curriculum_mentor.ask("what does SMOTE actually do?", member=MemberContext(weak_topics=("imbalanced-data",)))
    assert "you missed a quiz question on Handling imbalanced data" in weak.text.splitlines()[-1]


@pytest.mark.model
def test_a_misspelt_question_is_repaired_against_the_curriculums_words(curriculum_mentor):
    answer = curriculum_mentor.ask("whats the point of a valdiation set if i already have a test set")
    assert answer.grounded and "validation" in answer.text.lower()
    words = curriculum_mentor.extractive._words()
    assert words.correct("complete begginer, where do i start") == "complete beginner, where do i start"
    assert words.correct("my tasks were retried twice") == "my tasks were retried twice"  # an inflection, no typo


@pytest.mark.model
def test_a_question_about_a_term_the_path_never_uses_is_refused_and_names_it(curriculum_mentor):
    answer = curriculum_mentor.ask("how does the simclr loss work")
    assert not answer.grounded and "simclr" in answer.text
    words = curriculum_mentor.extractive._words()
    assert words.rare("whats the deal with dockerising my model") == []  # chat spelling, a form of "docker"
    assert words.rare("which library do ppl use for lora finetuning") == []  # a compound of known words


@pytest.mark.model
def test_guidance_questions_no_pattern_catches_are_routed_by_meaning(curriculum_mentor):
    recs = curriculum_mentor.ask("personalised product recs for an online shop is my jam. track?")
    assert recs.grounded and recs.text.startswith("Track C")
    better = curriculum_mentor.ask("how can i tell i'm actually improving, what should i be measuring")
    assert better.grounded and "success metrics" in better.text and "Technical skills" in better.text
    # near a guidance example by meaning, but it says nothing of a track: retrieval answers or refuses it
    samples = curriculum_mentor.ask("active learning: how do i choose which samples to label next")
    assert not samples.text.startswith(("Track", "Level 4 has"))


@pytest.mark.model
def test_guidance_worded_questions_about_another_subject_are_refused(curriculum_mentor):
    for question, subject in [("is 2 hours a week enough to learn guitar", "guitar"),
                              ("best books for learning spanish", "spanish"),
                              ("which certification do i need to become an electrician", "electrician")]:
        answer = curriculum_mentor.ask(question)
        assert not answer.grounded and f"({subject})" in answer.text, question
    newborn = curriculum_mentor.ask("i can only do like 2 hours a week with a newborn, is that enough")
    assert newborn.grounded and "8-14 hours a week" in newborn.text


def test_intent_examples_name_only_known_intents(tmp_path):
    assert {"start", "track", "none"} <= set(load_examples())
    bad = tmp_path / "examples.yaml"
    bad.write_text("astrology:\n  - what's my sign\n")
    with pytest.raises(ValueError, match="unknown intents"):
        load_examples(bad)
    assert {"cooking", "music"} <= {d["label"] for d in load_off_topic()}
    bad.write_text("domains:\n  - cooking\n")
    with pytest.raises(ValueError, match="a label and a text each"):
        load_off_topic(bad)


@pytest.mark.model
def test_a_resource_question_gets_the_resource_it_means_with_what_the_content_says_of_it(curriculum_mentor):
    # no level, no title, no author: "numpy and dataframes" is what McKinney's book is for (catalogue `about`)
    answer = curriculum_mentor.ask("is there a decent book on numpy and dataframes")
    assert answer.text.startswith('For Level 1 — Foundations (3-6 months) the path recommends the book '
                                  '"Python for Data Analysis" by Wes McKinney'), answer.text
    assert "the creator of pandas" in answer.text  # the Resources section's own sentence on the book
    assert answer.citations[0].section.endswith("Resources")
    book = curriculum_mentor.ask("that kleppmann book, worth it for ml people?")
    assert "Designing Data-Intensive Applications" in book.text.split(";")[0]
    assert "stream processing" in book.text


@pytest.mark.model
def test_datasets_and_libraries_come_from_the_sections_exercise_not_the_level_reading_list(curriculum_mentor):
    answer = curriculum_mentor.ask("which python package do people use to fine tune with lora")
    assert "`peft`" in answer.text and "Building Machine Learning Pipelines" not in answer.text
    assert answer.citations[0].section.endswith("Fine-tuning large language models")


@pytest.mark.model
def test_readiness_questions_quote_the_levels_own_checks(curriculum_mentor):
    for question in ("how do i know i'm ready to move on to level 3", "im in level 2, how do i know im ready"):
        answer = curriculum_mentor.ask(question)
        assert answer.citations[0].section.endswith("How to know you are ready for Level 3"), question
        assert "credit card fraud detection project from an empty notebook" in answer.text, question
    member = MemberContext(level=2, days_since_joined=210)
    nxt = curriculum_mentor.ask("what should i do next?", member=member)
    assert nxt.text.startswith("Level 3") and "fraud detection project" in nxt.text


@pytest.mark.model
def test_a_follow_up_whose_subject_is_a_pronoun_stays_with_the_previous_answer(curriculum_mentor):
    first = curriculum_mentor.ask("what is a feature store")
    history = [Turn("user", "what is a feature store"), Turn("assistant", first.text, tuple(first.citations))]
    answer = curriculum_mentor.ask("why does that matter in prod, cant i just compute features inside the api",
                                   history=history)
    assert answer.citations[0].section.endswith("Feature stores"), answer.text


@pytest.mark.model
def test_a_follow_up_gets_the_sections_best_sentences_from_wherever_they_are(curriculum_mentor):
    first = curriculum_mentor.ask("what is k-means")
    history = [Turn("user", "what is k-means"), Turn("assistant", first.text, tuple(first.citations))]
    answer = curriculum_mentor.ask("ok and how do i choose the number of clusters", history=history)
    # the exercise's elbow plot and the pitfall's silhouette check are two paragraphs apart
    assert "elbow" in answer.text and "silhouette" in answer.text, answer.text


@pytest.mark.model
def test_the_askers_situation_does_not_make_a_guidance_question_off_topic(curriculum_mentor):
    answer = curriculum_mentor.ask("can you help me put together a study plan? got a toddler so time is tight")
    assert answer.grounded and answer.citations[0].section == "Next Steps › Create a Study Plan"
    refused = curriculum_mentor.ask("can somebody explain conformal prediction for my classifier")
    assert not refused.grounded and "conformal prediction" in refused.text


@pytest.mark.model
def test_a_project_question_at_a_level_gets_a_project_open_at_that_level(curriculum_mentor):
    answer = curriculum_mentor.ask("which portfolio project fits level 2? i just got there")
    assert answer.text.startswith("Open Source Contribution:"), answer.text  # the one open from Level 2
    early = curriculum_mentor.ask("is there a portfolio project i can do in level 1")
    assert early.text.startswith("Open Source Contribution (from Level 2): the portfolio projects start at Level 2")
    member = curriculum_mentor.ask("which portfolio project should i do at my level", member=MemberContext(level=3))
    assert not member.text.startswith("Open Source Contribution"), member.text


@pytest.mark.model
def test_everyday_subjects_are_refused_even_in_guidance_words_but_not_the_askers_background(curriculum_mentor):
    # "training", "start", "daily habits" are the path's words too; the subject is not
    for question in ("how should i start training for a 5k run", "any daily habits to get better at painting"):
        answer = curriculum_mentor.ask(question)
        assert not answer.grounded and answer.text.startswith("The learning path doesn't cover that ("), question
    for question in ("i'm a chef wanting to get into ml, where do i start",
                     "i play guitar in my free time, is 5 hrs a week enough for the path"):
        assert curriculum_mentor.ask(question).grounded, question


@pytest.mark.model
def test_duration_follow_up_about_the_whole_path_and_hours_with_how_to_fit_them(curriculum_mentor):
    first = curriculum_mentor.ask("how long does level 3 take")
    history = [Turn("user", "how long does level 3 take"), Turn("assistant", first.text, tuple(first.citations))]
    whole = curriculum_mentor.ask("and the entire thing, start to finish?", history=history)
    assert "39-60 months" in whole.text, whole.text
    hours = curriculum_mentor.ask("realistically how many hrs a week, i mostly have weekends")
    assert "8-14 hours a week" in hours.text
    assert "small daily progress compounds" in hours.text  # the habits section's own advice on fitting it in


@pytest.mark.model
def test_a_papers_question_gets_the_sections_cited_work(curriculum_mentor):
    answer = curriculum_mentor.ask("papers i should read for the nlp track?")
    assert "Lewis et al., 2020" in answer.text, answer.text
    assert "Building Machine Learning Pipelines" not in answer.text  # not a level's reading list


@pytest.mark.model
def test_chat_around_a_named_subject_does_not_refuse_it(curriculum_mentor):
    # the filler dilutes the similarity below the threshold; the question still names the section's subject
    answer = curriculum_mentor.ask("eli5 RAG. keep hearing it everywhere")
    assert answer.grounded and answer.citations[0].section.endswith("RAG (Retrieval-Augmented Generation)")
    assert not curriculum_mentor.ask("explain graph neural networks").grounded


@pytest.mark.model
def test_goal_questions_get_the_catalogues_suggestions_for_the_askers_level_and_track(curriculum_mentor):
    answer = curriculum_mentor.ask("on track c rn, what should i aim for in the next 6 months")
    assert answer.text.startswith("Goals at Level 4, Track C: 6 months: Ship a hybrid recommender"), answer.text
    assert answer.citations[0].section == "Next Steps › Set Clear Goals"
    mine = curriculum_mentor.ask("what's a sensible goal for this year?", member=MemberContext(level=2))
    assert mine.text.startswith("Goals at Level 2: 12 months: Deploy a model behind a FastAPI service"), mine.text


@pytest.mark.model
def test_verbs_and_words_with_two_meanings_are_not_taken_for_an_off_path_subject(curriculum_mentor):
    book = curriculum_mentor.ask("best book for getting good at pandas?")  # "getting" is not the subject
    assert book.grounded and "Python for Data Analysis" in book.text, book.text
    project = curriculum_mentor.ask("which portfolio project should i start with if i want recruiters to notice me")
    assert project.grounded, project.text
    resume = curriculum_mentor.ask("how do i resume training a model after a crash")  # resume, the verb
    assert "job applications" not in resume.text
    assert "job applications" in curriculum_mentor.ask("can you review my resume for a data scientist job").text


def _follow(mentor, first_question: str, question: str):
    first = mentor.ask(first_question)
    return mentor.ask(question, history=[Turn("user", first_question),
                                         Turn("assistant", first.text, tuple(first.citations))])


@pytest.mark.model
def test_a_follow_up_that_names_another_subject_is_answered_from_that_subjects_section(curriculum_mentor):
    answer = _follow(curriculum_mentor, "docker in simple words please", "ok so where does kubernetes fit")
    assert answer.citations[0].section.endswith("Kubernetes basics"), answer.text
    versus = _follow(curriculum_mentor, "how does gradient boosting work", "is that better than a random forest")
    assert versus.citations[0].section.endswith("Decision trees and random forests"), versus.text


@pytest.mark.model
def test_a_definition_comes_from_the_section_that_defines_the_subject_not_one_that_mentions_it(curriculum_mentor):
    # the prompt engineering section mentions LoRA in passing and scores alike
    answer = curriculum_mentor.ask("what is LoRA")
    assert answer.citations[0].section.endswith("Fine-tuning large language models"), answer.text
    assert "low-rank update" in answer.text


@pytest.mark.model
def test_a_follow_up_may_repeat_the_sentence_that_answers_it(curriculum_mentor):
    answer = _follow(curriculum_mentor, "explain psi for drift", "which values are bad then?")
    assert "0.25" in answer.text and "0.1" in answer.text, answer.text


@pytest.mark.model
def test_the_ask_after_a_sentence_of_context_is_routed(curriculum_mentor):
    # the whole question is nearest a timeline example (without its cues); its last sentence asks about progress
    answer = curriculum_mentor.ask("ugh. feels like im going in circles and not getting anywhere. how can i tell if "
                                   "im progressing")
    assert answer.grounded and "success metrics" in answer.text, answer.text


@pytest.mark.model
def test_a_problem_told_as_works_here_but_not_there_gets_the_sections_pitfall(curriculum_mentor):
    answer = curriculum_mentor.ask("my fastapi service works fine locally but inside docker nothing responds even though "
                                   "the port is mapped")
    assert answer.citations[0].section.endswith("Containerization with Docker") and "0.0.0.0" in answer.text, \
        answer.text


@pytest.mark.model
def test_slang_forms_of_known_words_are_not_rare_subjects(curriculum_mentor):
    # "mathy" is "math", "intro" starts "introduction", and "that isnt …" is not part of the subject
    answer = curriculum_mentor.ask("whats a good intro to neural nets that isnt super mathy")
    assert answer.grounded, answer.text


@pytest.mark.model
def test_progress_and_time_answers_carry_the_next_steps_own_advice(curriculum_mentor):
    progress = curriculum_mentor.ask("how do i know im actually getting better at this")
    assert "success metrics" in progress.text and "three months ago" in progress.text, progress.text
    assert any(c.section == "Next Steps › Stay Consistent" for c in progress.citations)
    busy = curriculum_mentor.ask("i can only do 5 hours a week, is that enough")
    assert "10-minute version" in busy.text, busy.text


@pytest.mark.model
def test_a_resource_question_on_a_module_without_its_own_book_gets_the_reading_lists_word_on_it(curriculum_mentor):
    answer = curriculum_mentor.ask("any book for the linear algebra bits of level 1?")
    assert "the path lists no dedicated resource" in answer.text, answer.text
    other = curriculum_mentor.ask("best book for getting good at pandas?")
    assert "no dedicated resource" not in other.text, other.text


@pytest.mark.model
def test_is_it_any_good_gets_the_sections_word_on_where_it_disappoints(curriculum_mentor):
    answer = _follow(curriculum_mentor, "how does prophet work", "is it worth using at all")
    assert "seasonal naive" in answer.text, answer.text


@pytest.mark.model
def test_an_everyday_subject_is_refused_unless_the_question_names_an_ml_term(curriculum_mentor):
    trip = curriculum_mentor.ask("off to italy for two weeks in june, what shouldnt i miss")
    assert not trip.grounded and trip.text.startswith("The learning path doesn't cover that (travel)"), trip.text
    # "netflix" is near films; "recsys" is the glossary's recommender systems
    papers = curriculum_mentor.ask("any classic recsys papers? someone mentioned the netflix prize")
    assert papers.grounded and "Netflix Prize" in papers.text, papers.text


@pytest.mark.model
def test_a_choice_between_two_named_tracks_gets_the_one_the_question_describes(curriculum_mentor):
    answer = curriculum_mentor.ask("we do a lot of sales forecasting at work, track c or d for me?")
    assert answer.text.startswith("Track D — Time Series & Forecasting"), answer.text
    other = curriculum_mentor.ask("im into chatbots and text stuff, track a or b?")
    assert other.text.startswith("Track B — Natural Language Processing"), other.text


@pytest.mark.model
def test_where_do_i_jump_in_reads_the_askers_role(curriculum_mentor):
    answer = curriculum_mentor.ask("web dev here, bit of python. where would i jump in?")
    assert answer.text.startswith("Start at Level 1") and "Skim Level 1" in answer.text, answer.text
