"""Query understanding: what retrieval should search for a question typed in a conversation.

Three steps, shared by the extractive and the LLM answerer:
1. "show me the sources" / "where is that from?" asks for the previous answer's sources, not a new answer;
2. a follow-up ("and how do I pick lambda?", "what about class weights?") is searched together with the
   question it follows, so it inherits that question's subject;
3. the glossary (knowledge/glossary.yaml) adds the curriculum's terms for spelling variants and everyday
   phrasings, and names ML subjects the path does not teach.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from knowledge.glossary import CompiledGlossary, NotCovered
from knowledge.lexical import tokenize

if TYPE_CHECKING:
    from knowledge.answer import Turn

_SOURCES = re.compile(
    r"^(?:(?:can|could) you )?(?:please )?(?:show|give|list|send|share|tell)(?: me)? (?:the |your |those |these )?"
    r"(?:sources?|citations?|references?|links?)\b|^(?:what|which) (?:are|were|is|was) (?:the |your )?"
    r"(?:sources?|citations?|references?)\b|^where(?:'s| is| was| did| does)? (?:that|this|it|you get that|"
    r"you get this)(?: come)? from\b|^sources?\s*[?!.]*$|^(?:what's|what is) (?:that|this) based on\b|"
    r"^where can i read (?:more|that|this)\b")
_CONNECTIVE = re.compile(r"^(?:and|also|but|so|or|then|ok(?:ay)?,? (?:and|so)|what about|how about|what if|"
                         r"same (?:for|with)|and what|why not|how so|in that case|"
                         r"(?:anything|something|any ?one) (?:else|other|that'?s? not|but))\b")
_PRONOUN = re.compile(r"\b(?:it|its|that|this|them|those|these|they|their|one|ones)\b")
_SUBJECT = re.compile(
    r"^(?:(?:so|ok|okay|hey|hi|quick q|quick question|question)[,:]?\s+)*(?:(?:can|could) you |pls |please )?"
    r"(?:(?:can|could) (?:someone|somebody|anyone) )?"
    r"(?:what(?:'s| is| are|s| r)|whats|explain|define|how (?:does|do)(?! i | we | you )|tell me about|"
    r"what do you know about|eli5|"
    r"teach me|do (?:we|you) cover|is there anything (?:on|about))\s+(?:me\s+)?(?:a |an |the )?"
    r"(?P<subject>[^?.!,;:]+)")
_SUBJECT_END = re.compile(r"\s+(?:work|works|working|mean|means|do|does|doing|in (?:plain|simple|normal)|"
                          r"actually|really|exactly|even|under the hood|in practice|in real life|"
                          r"that|which|but|because|since|so that|"
                          r"for (?:a|an|the|my|our)|"
                          r"used for|and (?:how|why|when|what)|and when|like i'?m)\b.*$")
_BACK_REFERENCE = re.compile(
    r"\b(?:of|from|between) (?:those|these|them|the two|both)\b|^(?:\w+ )?(?:which|what) one\b|"
    r"\bthe [\w-]+ one\b|\b(?:in|for|with|about|on|take) (?:it|that|this|those|these|them)\b|"
    r"\b(?:that|this|those|these) (?:one|ones|level|track|cert|certification|project|book|course|habits?)\b")


def refers_back(text: str) -> bool:
    """"which one of those first?", "what does the real-time one need?", "how long will that level take?":
    words that point at the previous answer, whatever the question's length."""
    return _BACK_REFERENCE.search(text.lower().strip()) is not None


FOLLOW_UP_MAX_TERMS = 3
"""A question with at most this many content words and no subject of its own is a follow-up."""


def wants_sources(text: str) -> bool:
    return _SOURCES.search(text.lower().strip()) is not None


def key_subject(text: str) -> str:
    """The subject of a "what is X / explain X / how does X work" question ("" for other questions)."""
    found = _SUBJECT.search(text.lower().strip())
    if found is None:
        return ""
    return _SUBJECT_END.sub("", found.group("subject")).strip()


_LEADING_PRONOUN = re.compile(r"^(?:[\w']+[\s,]+){0,3}?(?:it|that|this|they|them|those|these)\b(?! (?:is|was|'s) )")
"""A pronoun among the first words is the question's subject ("why does that matter in prod?", "could that
run on my laptop?", "is that the same as ridge?"): whatever its length, the question is about the answer."""
_EXPLETIVE = re.compile(r"\b(?:is|was|isn'?t) it (?:worth|normal|possible|ok|okay|true|too|necessary|enough|"
                        r"realistic|better|bad|fine|hard|easy|important|common|weird|late)\b|\bit'?s (?:worth|normal|"
                        r"possible|ok|okay|true|too|important|hard|easy|fine)\b")


def is_follow_up(text: str) -> bool:
    lowered = text.lower().strip()
    terms = tokenize(lowered)
    if _CONNECTIVE.search(lowered) or refers_back(lowered):
        return True
    if _LEADING_PRONOUN.search(lowered) and not _EXPLETIVE.search(lowered):
        return True
    if len(terms) <= FOLLOW_UP_MAX_TERMS:
        return True
    return bool(_PRONOUN.search(lowered)) and len(terms) <= FOLLOW_UP_MAX_TERMS + 2


def previous_questions(history: Sequence[Turn]) -> list[str]:
    return [t.text for t in history if t.role == "user" and not wants_sources(t.text)]


def subject_of_conversation(history: Sequence[Turn]) -> str:
    """The question(s) a follow-up follows: the last user question, and the one before when that one was
    itself a follow-up ("regularization?" → "and lambda?" → "and for trees?")."""
    asked = previous_questions(history)
    if not asked:
        return ""
    chain = [asked[-1]]
    for earlier in reversed(asked[:-1]):
        if not is_follow_up(chain[0]):
            break
        chain.insert(0, earlier)
    return " ".join(chain)


@dataclass(frozen=True)
class Query:
    text: str
    """The member's question as typed (trimmed)."""
    search: str
    """What retrieval searches: the follow-up rewritten with its subject, plus glossary terms."""
    follow_up: bool
    not_covered: NotCovered | None
    added_terms: tuple[str, ...] = ()
    subject: str = ""
    """The earlier question(s) a follow-up follows ("" for a question of its own)."""
    focus: str = ""
    """The question's own words with glossary terms (no subject): what a follow-up's answer should say."""


_LEVEL_OR_TRACK = re.compile(r"\b(level|lvl|track)\s*([1-4a-e])\b", re.IGNORECASE)
_AND_X = re.compile(r"^(?:and|or|also|what about|how about|same for|same with|and what about)\s+(?:the |a |an )?"
                    r"(?P<x>[^?.!,;]+?)\s*[?.!]*$", re.IGNORECASE)


def substitute(previous: str, text: str) -> str | None:
    """"and level 3?" after "how long is level 2?" → "how long is level 3?"; "and kubernetes?" after "what
    is docker?" → "what is kubernetes?": a follow-up that swaps the subject asks the same question again."""
    found = _AND_X.search(text.strip())
    if found is None:
        return None
    x = found.group("x").strip()
    if re.match(r"(?:for|with|in|on|about|when|if|during|without|at)\b", x):
        return None  # "and for time series data?" narrows the question; it does not swap its subject
    new_mention = _LEVEL_OR_TRACK.fullmatch(x)
    old_mention = _LEVEL_OR_TRACK.search(previous)
    if new_mention and old_mention and new_mention.group(1)[0].lower() == old_mention.group(1)[0].lower():
        return previous[:old_mention.start()] + x + previous[old_mention.end():]
    subject = key_subject(previous)
    if subject and len(x.split()) <= 4 and subject in previous.lower():
        start = previous.lower().index(subject)
        return previous[:start] + x + previous[start + len(subject):]
    return None


_OTHER_SUBJECT = re.compile(
    r"\b(?:different (?:from|to|than)|differ from|compared? (?:to|with)|vs\.?|versus|instead of|better than|"
    r"same as|similar to|related to)\s+(?:what |how )?(?:a |an |the |using |plain )?(?P<x>[\w\s./+-]+?)"
    r"(?:\s+(?:does|do|is|are|works?|gives?))?\s*[?.!]*$|"
    r"\bwhere (?:does|do|would|will) (?:the |a |an )?(?P<y>[\w\s./+-]+?) (?:come in|fit|sit|belong)", re.IGNORECASE)


def other_subject(text: str) -> str:
    """"how's that different from a random forest?", "where does k8s come into it?": a follow-up that relates
    the previous answer to another subject, which its answer should be about ("" when it names none)."""
    found = _OTHER_SUBJECT.search(text.strip())
    if found is None:
        return ""
    subject = (found.group("x") or found.group("y") or "").strip()
    return "" if _PRONOUN.fullmatch(subject) else subject


CONTINUES_MAX_TERMS = 8
"""A question of at most this many content words that reuses a name from the previous answer ("what psi
values count as bad?" after an answer on drift that named PSI) continues its topic."""


def continues_answer(text: str, history: Sequence[Turn], specific: Callable[[str], bool] | None) -> bool:
    if specific is None:
        return False
    terms = tokenize(text)
    if not terms or len(terms) > CONTINUES_MAX_TERMS:
        return False
    last = next((t for t in reversed(history) if t.role == "assistant"), None)
    if last is None or not last.citations:  # a refusal or no answer: nothing to continue
        return False
    names = {t for name in _NAME.findall(last.text) for t in tokenize(name)}
    return any(term in names and specific(term) for term in terms)


_NAME = re.compile(r"(?<![.!?:]\s)(?<!^)\b(?:[A-Z]{2,}[A-Za-z0-9]*|[A-Z][a-z0-9]+[A-Z][A-Za-z0-9]*|"
                   r"(?<=\s)[A-Z][a-z0-9]+)")
"""Names in an answer: acronyms (PSI, SMOTE), camel case (XGBoost, LightGBM) and capitalised words inside a
sentence (Feast, Airflow): what a member refers to in lower case when they continue the topic."""


def understand(text: str, history: Sequence[Turn], glossary: CompiledGlossary,
               specific: Callable[[str], bool] | None = None) -> Query:
    """`specific` tells a word that names something particular in the curriculum (rare in it) from a general
    one; with it, a question reusing such a name from the previous answer is a follow-up to it."""
    subject = subject_of_conversation(history)
    follow_up = bool(subject) and (is_follow_up(text) or continues_answer(text, history, specific))
    swapped = substitute(previous_questions(history)[-1], text) if follow_up else None
    if swapped is not None:  # a question of its own now
        expansion = glossary.expand(swapped)
        return Query(swapped, expansion.query, False, expansion.not_covered, expansion.added, "",
                     expansion.query)
    base = f"{subject} {text}" if follow_up else text
    expansion = glossary.expand(base, context=subject)
    focus = glossary.expand(text, context=subject).query if follow_up else expansion.query
    not_covered = expansion.not_covered if not follow_up else glossary.not_covered(text)
    return Query(text, expansion.query, follow_up, not_covered, expansion.added,
                 subject if follow_up else "", focus)
