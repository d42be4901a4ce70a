"""Learners help each other (opt-in): a member who keeps missing a topic is offered an intro to one teammate who
mastered it and offers help.

- `buddy on|off`: a member offers (or stops offering) help on the topics they mastered. Off by default.
- After a wrong answer, when the member has missed questions of that topic on two different local days, they are
  offered one teammate who mastered the topic (progress.Progress.mastery_dates) and opted in: "Ana mastered
  Window functions last week and offers help — want an intro?". Yes → a group DM with both (the front end opens
  it), with the topic and the section to read together.
- Limits: nobody is suggested more than twice in 7 days (counted under a lock on the buddy's row); no new offer on
  a topic within 30 days of the last one (accepted or declined); members who left, opted out of the leaderboard,
  turned buddy off or can't get DMs are never named; never in the terminal (one member). One offer per member,
  topic and local day is a unique key, and an answer flips the offer once: two replicas make one offer and one
  intro.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from progress import repository as repo
from progress.models import TERMINAL_TEAM_ID, Member
from progress.service import MemberRef, Progress, _aware, local_date, utcnow, zone

MISS_DAYS = 2
MAX_OFFERS_PER_BUDDY = 2
BUDDY_WINDOW = timedelta(days=7)
REPEAT_AFTER = timedelta(days=30)


@dataclass(frozen=True)
class BuddyOfferView:
    token: str
    buddy_user_id: str
    buddy_name: str
    topic: str
    title: str
    mastered_on: date
    today: date

    @property
    def text(self) -> str:
        days = (self.today - self.mastered_on).days
        when = ("this week" if days < self.today.weekday() + 1 else "last week" if days < self.today.weekday() + 8
                else f"on {self.mastered_on:%a} {self.mastered_on.day} {self.mastered_on:%b}")
        return f"{self.buddy_name} mastered {self.title} {when} and offers help — want an intro?"


@dataclass(frozen=True)
class BuddyAnswer:
    status: str
    """"accepted" (the front end opens the group DM), "declined", "already" (answered before), "not_yours" or
    "unknown"."""
    member_user_id: str = ""
    buddy_user_id: str = ""
    buddy_name: str = ""
    title: str = ""
    section: str = ""
    """The section to read together (the topic's first quiz question cites it)."""


class Buddies:
    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.db = progress.db

    def set_opt_in(self, ref: MemberRef, on: bool) -> Member:
        with self.db.session() as s:
            member = self.progress._member(s, ref, utcnow())
            self.progress._update(s, member, buddy_opt_in=on)
            return member

    def _title(self, topic: str) -> str:
        try:
            return self.progress.cat.topic(topic).title
        except KeyError:
            return topic

    def offer_after_miss(self, ref: MemberRef, question_id: str, *, now: datetime | None = None
                         ) -> BuddyOfferView | None:
        """After a wrong answer to `question_id`: an offer when the rules above allow one, else None."""
        now = now or utcnow()
        question = self.progress.bank.get(question_id)
        if question is None or ref.team_id == TERMINAL_TEAM_ID:
            return None
        topic = question.topic
        ids = [q.id for q in self.progress.bank.values() if q.topic == topic]
        member = self.progress.member(ref, now=now)
        tz = zone(member.tz)
        with self.db.session() as s:
            missed = {_aware(at).astimezone(tz).date() for at in
                      repo.wrong_answer_times(s, member_id=member.id, question_ids=ids)}
            last = repo.last_buddy_offer(s, member_id=member.id, topic=topic)
            candidates = repo.buddy_candidates(s, team_id=member.team_id, exclude=member.id)
        if len(missed) < MISS_DAYS or (last is not None and _aware(last) > now - REPEAT_AFTER):
            return None
        mastered = [(c, d) for c in candidates
                    if (d := self.progress.mastery_dates(MemberRef(c.team_id, c.user_id), now=now).get(topic))]
        today = local_date(member, now)
        for buddy, day in sorted(mastered, key=lambda cd: (-cd[1].toordinal(), cd[0].id)):  # the freshest first
            token = secrets.token_hex(12)
            with self.db.session() as s:
                if repo.lock_member(s, member_id=buddy.id) is None:
                    continue
                if repo.offers_naming(s, buddy_id=buddy.id, since=now - BUDDY_WINDOW) >= MAX_OFFERS_PER_BUDDY:
                    continue
                if not repo.add_buddy_offer(s, token=token, member_id=member.id, buddy_id=buddy.id, topic=topic,
                                            offered_on=today, now=now):
                    return None  # another replica offered this topic today a moment ago
            return BuddyOfferView(token, buddy.user_id, _first(buddy), topic, self._title(topic), day, today)
        return None

    def answer(self, token: str, ref: MemberRef, accept: bool, *, now: datetime | None = None) -> BuddyAnswer:
        now = now or utcnow()
        with self.db.session() as s:
            offer = repo.get_buddy_offer(s, token=token)
            if offer is None:
                return BuddyAnswer("unknown")
            member = repo.get_member(s, team_id=ref.team_id, user_id=ref.user_id)
            if member is None or member.id != offer.member_id:
                return BuddyAnswer("not_yours")
            if not repo.answer_buddy_offer(s, token=token, status="accepted" if accept else "declined", now=now):
                return BuddyAnswer("already")
            buddy = repo.members_by_ids(s, ids=[offer.buddy_id]).get(offer.buddy_id)
            if not accept:
                return BuddyAnswer("declined", title=self._title(offer.topic))
            if buddy is None or not buddy.active or not buddy.buddy_opt_in:
                # they left or stopped offering help since: no intro, and the offer does not count as made
                repo.answer_buddy_offer_back(s, token=token)
                return BuddyAnswer("unknown", title=self._title(offer.topic))
            section = next((q.section for q in self.progress.bank.values() if q.topic == offer.topic), "")
            return BuddyAnswer("accepted", member.user_id, buddy.user_id, _first(buddy), self._title(offer.topic),
                               section)


def _first(member: Member) -> str:
    name = (member.display_name or "").strip()
    return name.split()[0] if name else member.user_id
