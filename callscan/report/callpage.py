"""The coach's page for one call: player, transcript, objections with the rep's answers, metrics.

Everything a coach would act on is stated with how sure we are of it: when speaker roles are
unknown or guessed, the page says so next to the numbers that depend on them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from ..schema import Call, Segment
from . import charts
from .clips import AudioResult
from .views import LOW_ROLE_CONFIDENCE, CallDigest, Config, TrackerInfo, clock, digest, humanize, nice_date

MENTION_TYPES = {"competitor": "Competitors", "money": "Money", "date": "Dates", "trigger": "Trigger events",
                 "channel": "How they heard of us"}
DATE_SOURCES = {"manifest": "from calls.csv", "filename": "from the file name",
                "mtime": "from the file's modification time"}


@dataclass(frozen=True)
class Chip:
    id: str
    label: str


@dataclass
class Line:
    index: int
    start: float
    end: float
    speaker: str
    role: str
    text: str
    chips: list[Chip] = field(default_factory=list)

    @property
    def anchor(self) -> str:
        return f"seg-{self.index}"

    @property
    def at(self) -> str:
        return clock(self.start)


@dataclass
class Review:
    """Objections next to what the rep said back, for the coach to judge.

    Objections raised in one customer turn share one answer, so they are one review.
    """

    lines: list[Line]  # the customer's lines with objections
    attributed: bool
    response: list[Line]
    label: str  # what ``response`` is: the rep's answer, or only the next line
    note: str | None = None  # why there is no response to show

    @property
    def first(self) -> Line:
        return self.lines[0]


@dataclass(frozen=True)
class Stat:
    label: str
    value: str
    hint: str = ""


@dataclass
class TrackerRow:
    info: TrackerInfo
    count: int
    hits: list[dict[str, Any]]


@dataclass
class CallPage:
    call: CallDigest
    facts: list[tuple[str, str]]
    notices: list[str]
    audio_href: str | None  # relative to the call page
    audio_note: str | None
    lines: list[Line]
    reviews: list[Review]
    stats: list[Stat]
    talk_chart: Markup | None
    trackers: list[TrackerRow]
    keywords: list[dict[str, Any]]
    mentions: list[tuple[str, list[dict[str, Any]]]]

    @property
    def playable(self) -> bool:
        return self.audio_href is not None

    @property
    def trackers_heard(self) -> list[TrackerRow]:
        return [t for t in self.trackers if t.count]

    @property
    def trackers_missed(self) -> list[TrackerRow]:
        """Not said: for a rep tracker, a coaching point (unless roles are unknown)."""
        return [t for t in self.trackers if not t.count]


def build_call_page(call: Call, config: Config, keywords: list[dict], audio: AudioResult) -> CallPage:
    info = digest(call)
    segments = call.transcript.segments
    lines = _lines(segments, call.objections, config)
    return CallPage(
        call=info, facts=_facts(call), notices=_notices(call, info, audio),
        audio_href=f"../{audio.call_href}" if audio.call_href else None, audio_note=audio.note,
        lines=lines, reviews=_reviews(lines, call.objections, info.roles_known),
        stats=_stats(info), talk_chart=_talk_chart(info), trackers=_trackers(info, config),
        keywords=keywords, mentions=_mentions(info),
    )


def _lines(segments: list[Segment], objections: list[dict], config: Config) -> list[Line]:
    chips: dict[int, list[Chip]] = defaultdict(list)
    for o in objections:
        index = o.get("segment")
        if isinstance(index, int) and all(c.id != o["category"] for c in chips[index]):
            chips[index].append(Chip(o["category"], config.category(o["category"]).label))
    return [Line(i, s.start, s.end, s.speaker, s.role, s.text, chips.get(i, [])) for i, s in enumerate(segments)]


def _reviews(lines: list[Line], objections: list[dict], roles_known: bool) -> list[Review]:
    attributed = {o.get("segment"): bool(o.get("attributed", True)) for o in objections}
    reviews: list[Review] = []
    for line in (ln for ln in lines if ln.chips):
        review = _review(lines, line, attributed.get(line.index, True), roles_known)
        previous = reviews[-1] if reviews else None
        if previous and review.response and previous.response and previous.response[0] is review.response[0]:
            previous.lines.append(line)
            previous.attributed = previous.attributed and review.attributed
        else:
            reviews.append(review)
    return reviews


def _review(lines: list[Line], line: Line, attributed: bool, roles_known: bool) -> Review:
    if not roles_known:
        # Without roles the rep's turn cannot be picked out; the next line is still what a
        # coach would listen to, so show it and say plainly what it is.
        following = lines[line.index + 1:line.index + 2]
        return Review([line], attributed, following, "Said next (speaker unknown)",
                      None if following else "Nothing was said after this.")
    turn = _rep_turn(lines, line.index)
    return Review([line], attributed, turn, "Rep's answer",
                  None if turn else "The rep did not speak after this before the call ended.")


def _rep_turn(lines: list[Line], index: int) -> list[Line]:
    """The rep's next turn after line ``index``: consecutive rep lines from the first one."""
    turn: list[Line] = []
    for line in lines[index + 1:]:
        if line.role == "rep":
            turn.append(line)
        elif turn:
            break
    return turn


def _facts(call: Call) -> list[tuple[str, str]]:
    src, tr = call.source, call.transcript
    when = nice_date(src.date) if src.date else "unknown"
    if src.date and src.date_source in DATE_SOURCES:
        when += f" ({DATE_SOURCES[src.date_source]})"
    facts = [("Date", when), ("Rep", src.rep or "unknown"), ("Account", src.account or "—"),
             ("Stage", src.stage or "—"), ("Length", clock(tr.duration))]
    facts += [(humanize(k), str(v)) for k, v in sorted(src.meta.items()) if v]
    recording = {"stereo": "dual-channel audio", "mono": "single-channel audio", "transcript": "imported transcript"}
    facts += [("Recording", recording.get(tr.channels, tr.channels)), ("Source file", src.name),
              ("Language", tr.language or "—"), ("Transcribed by", tr.model or "imported transcript")]
    return facts


def _notices(call: Call, info: CallDigest, audio: AudioResult) -> list[str]:
    notes = []
    roles = {s.role for s in call.transcript.segments}
    if not info.roles_known:
        notes.append("Speakers are not identified on this call, so every line is marked “unknown”. Objections "
                     "are shown but may have been said by the rep; talk ratio, questions and rep trackers are "
                     "not available.")
    elif call.role_confidence is not None and call.role_confidence < LOW_ROLE_CONFIDENCE:
        notes.append(f"Speaker roles were assigned with low confidence ({call.role_confidence:.0%}): "
                     "check who is talking before coaching on it.")
    if info.roles_known and "unknown" in roles:
        unknown = sum(1 for s in call.transcript.segments if s.role == "unknown")
        notes.append(f"{unknown} line{'s' if unknown != 1 else ''} could not be attributed to the rep or the customer.")
    if info.is_audio and audio.note:
        notes.append(audio.note[:1].upper() + audio.note[1:] + ".")
    return notes


def _stats(info: CallDigest) -> list[Stat]:
    m = info.metrics
    known = info.roles_known
    unknown = "—"
    share = m.get("rep_talk_share")
    ratio = f"{share:.0%} : {1 - share:.0%}" if known and share is not None else unknown
    return [
        Stat("Talk ratio rep : customer", ratio, "share of speaking time"),
        Stat("Rep questions", str(m.get("rep_questions", 0)) if known else unknown,
             "question marks in the rep's lines"),
        Stat("Longest rep monologue", clock(m.get("longest_rep_monologue")) if known else unknown, "min:sec"),
        Stat("Longest customer story", clock(m.get("longest_customer_story")) if known else unknown, "min:sec"),
        Stat("Switches per minute", f"{m.get('switches_per_minute', 0):.1f}" if known else unknown,
             "how often the speaker changes"),
        Stat("Objections raised", str(m.get("objections", 0)), "customer lines with an objection"),
    ]


def _talk_chart(info: CallDigest) -> Markup | None:
    talk = info.metrics.get("talk_seconds") or {}
    if not info.roles_known or not (talk.get("rep") or talk.get("customer")):
        return None
    return charts.split_bar(talk.get("rep", 0.0), talk.get("customer", 0.0), "Rep", "Customer", "Talk time")


def _trackers(info: CallDigest, config: Config) -> list[TrackerRow]:
    counts: dict[str, int] = dict(info.metrics.get("tracker_counts") or {})
    hits: dict[str, list[dict]] = defaultdict(list)
    for hit in info.trackers:
        hits[hit["tracker"]].append(hit)
        counts.setdefault(hit["tracker"], 0)
    return [TrackerRow(config.tracker(name), max(n, len(hits[name])), hits[name]) for name, n in counts.items()]


def _mentions(info: CallDigest) -> list[tuple[str, list[dict]]]:
    groups: dict[str, list[dict]] = defaultdict(list)
    for mention in info.mentions:
        groups[mention.get("type", "")].append(mention)
    ordered = [(MENTION_TYPES[t], groups[t]) for t in MENTION_TYPES if groups.get(t)]
    return ordered + [(humanize(t), items) for t, items in groups.items() if t not in MENTION_TYPES and t]
