"""What every page shares: a light digest of each call, the taxonomy and trackers, periods.

A report covers many calls, and a stored call carries every word with its timing. Pages
that summarise (briefing, reps, exports) work from a ``CallDigest`` — the analysis without
the transcript — so a year of calls fits in memory; only a call's own page loads its words.
"""

from __future__ import annotations

import logging
import statistics
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..schema import Call

log = logging.getLogger(__name__)

LOW_ROLE_CONFIDENCE = 0.75  # below this, a page asks the coach to check who is speaking


@dataclass(frozen=True)
class CallDigest:
    """One stored call's facts and analysis, without its transcript.

    Mentions and tracker hits carry a ``segment`` index (added by ``digest``) so any page can
    link straight to the line on the call page.
    """

    id: str
    name: str  # the source file name (never its path)
    kind: str  # audio | transcript
    date: str | None
    rep: str | None
    account: str | None
    stage: str | None
    meta: dict[str, str]
    duration: float
    channels: str
    role_confidence: float | None
    roles_known: bool  # some segment is attributed to the customer
    objections: list[dict[str, Any]]
    keywords: list[dict[str, Any]]
    mentions: list[dict[str, Any]]
    trackers: list[dict[str, Any]]
    metrics: dict[str, Any]
    source_path: str  # only to cut clips from; pages show ``name``
    segment_channels: dict[int, int | None] = field(default_factory=dict)  # objection segments only

    @property
    def href(self) -> str:
        return f"calls/{self.id}.html"

    @property
    def is_audio(self) -> bool:
        return self.kind == "audio"


def digest(call: Call) -> CallDigest:
    segments = call.transcript.segments
    wanted = {o.get("segment") for o in call.objections}
    src = call.source
    return CallDigest(
        id=call.id, name=src.name, kind=src.kind, date=src.date, rep=src.rep, account=src.account,
        stage=src.stage, meta=dict(src.meta), duration=call.transcript.duration,
        channels=call.transcript.channels, role_confidence=call.role_confidence,
        roles_known=roles_known(call), objections=list(call.objections), keywords=list(call.keywords),
        mentions=with_segments(call.mentions, segments), trackers=with_segments(call.trackers, segments),
        metrics=dict(call.metrics),
        source_path=src.path,
        segment_channels={i: segments[i].channel for i in wanted if isinstance(i, int) and 0 <= i < len(segments)},
    )


def with_segments(items: list[dict[str, Any]], segments: list) -> list[dict[str, Any]]:
    """Copies of mentions or tracker hits with the index of the line they were said in."""
    return [{**item, "segment": segment_at(segments, item.get("start"))} for item in items]


def segment_at(segments: list, seconds: float | None) -> int | None:
    """The line being spoken at ``seconds`` (or the last one that started before it)."""
    if seconds is None:
        return None
    found = None
    for i, seg in enumerate(segments):
        if seg.start > seconds + 0.05:
            break
        found = i
    return found


def roles_known(call: Call) -> bool:
    """Whether the customer's side is known, which makes objections "attributed"."""
    if "attributed" in call.metrics:
        return bool(call.metrics["attributed"])
    return any(s.role == "customer" for s in call.transcript.segments)


# -- configuration shared by pages ----------------------------------------------------------


@dataclass(frozen=True)
class CategoryInfo:
    id: str
    label: str
    definition: str = ""
    stage: str = ""
    copy_angle: str = ""
    assets: tuple[str, ...] = ()


@dataclass(frozen=True)
class TrackerInfo:
    name: str
    who: str  # rep | customer | any
    description: str = ""

    @property
    def label(self) -> str:
        return humanize(self.name)


@dataclass(frozen=True)
class Config:
    """The taxonomy and trackers the pages explain numbers with, read from ``models/``."""

    categories: dict[str, CategoryInfo]
    trackers: dict[str, TrackerInfo]

    def category(self, cid: str) -> CategoryInfo:
        return self.categories.get(cid) or CategoryInfo(cid, humanize(cid))

    def tracker(self, name: str) -> TrackerInfo:
        return self.trackers.get(name) or TrackerInfo(name, "any")


def load_config(models: Path | None = None) -> Config:
    """Read taxonomy and trackers; a missing file leaves ids as labels (a broken one raises)."""
    from ..config import models_dir

    return _load_config(models or models_dir())


@lru_cache(maxsize=2)  # ``scan`` renders a page per call; read the YAML once per process
def _load_config(models: Path) -> Config:
    return Config(_categories(models / "objections" / "taxonomy.yaml"), _trackers(models / "trackers.yaml"))


def _categories(path: Path) -> dict[str, CategoryInfo]:
    if not path.is_file():
        log.warning("no taxonomy at %s: categories are shown by id", path)
        return {}
    from ..analyze.objections import load_taxonomy

    return {c.id: CategoryInfo(c.id, c.label, c.definition, c.stage, c.copy_angle, c.assets)
            for c in load_taxonomy(path).categories.values()}


def _trackers(path: Path) -> dict[str, TrackerInfo]:
    if not path.is_file():
        return {}
    from ..analyze.trackers import load_trackers

    return {t.name: TrackerInfo(t.name, t.who, t.description) for t in load_trackers(path)}


# -- small helpers ----------------------------------------------------------------------------


def humanize(identifier: str) -> str:
    """``review_sites`` → ``Review sites``."""
    text = identifier.replace("_", " ").replace("-", " ").strip()
    return text[:1].upper() + text[1:]


def clock(seconds: float | None) -> str:
    seconds = int(seconds or 0)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def parse_date(text: str | None) -> date | None:
    try:
        return date.fromisoformat((text or "")[:10])
    except ValueError:
        return None


def nice_date(day: date | str | None) -> str:
    """``2026-10-06`` → ``6 Oct 2026``: unambiguous in every locale."""
    day = parse_date(day) if isinstance(day, str) or day is None else day
    return f"{day.day} {day:%b %Y}" if day else "undated"


# -- periods ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    start: date
    unit: str  # week | month

    @property
    def label(self) -> str:
        if self.unit == "month":
            return f"{self.start:%b %Y}"
        return f"week of {self.start.day} {self.start:%b}"

    @property
    def key(self) -> str:
        return f"{self.start:%Y-%m}" if self.unit == "month" else self.start.isoformat()

    def next(self) -> "Period":
        if self.unit == "week":
            return Period(self.start + timedelta(days=7), "week")
        year, month = divmod(self.start.month, 12)
        return Period(date(self.start.year + year, month + 1, 1), "month")


def period_of(day: date, unit: str) -> Period:
    """The week (starting Monday, as ISO weeks do) or month a day falls in."""
    if unit == "month":
        return Period(day.replace(day=1), "month")
    return Period(day - timedelta(days=day.weekday()), "week")


def periods_between(first: date, last: date, unit: str) -> list[Period]:
    """Every period from the one holding ``first`` to the one holding ``last``, empty ones too,
    so a week without calls shows as a gap rather than vanishing from the trend."""
    out, current, end = [], period_of(first, unit), period_of(last, unit)
    while current.start <= end.start:
        out.append(current)
        current = current.next()
    return out
