"""Typed values that flow through the pipeline, and their JSON form.

Everything a later stage needs is kept here as plain dataclasses so that a call can be
pickled between worker processes, stored in SQLite and written as ``calls/<id>.json``
from one definition.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

SCHEMA_VERSION = 1

ROLES = ("rep", "customer", "unknown")


@dataclass
class Word:
    start: float
    end: float
    word: str
    prob: float = 1.0


@dataclass
class Segment:
    start: float
    end: float
    text: str
    speaker: str = "speaker"
    role: str = "unknown"
    channel: int | None = None
    words: list[Word] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Segment":
        words = [Word(**w) for w in data.get("words") or []]
        known = {f.name for f in fields(cls)} - {"words"}
        return cls(words=words, **{k: v for k, v in data.items() if k in known})


@dataclass
class Source:
    """One input file, before any processing."""

    path: str
    name: str
    kind: str  # "audio" | "transcript"
    content_hash: str
    size: int
    date: str | None = None
    date_source: str | None = None  # manifest | filename | mtime
    rep: str | None = None
    account: str | None = None
    stage: str | None = None
    meta: dict[str, str] = field(default_factory=dict)

    @property
    def call_id(self) -> str:
        return make_call_id(self.name, self.content_hash)


@dataclass
class Transcript:
    """What transcription (or a transcript reader) produces for one source."""

    segments: list[Segment]
    duration: float
    language: str = "en"
    channels: str = "mono"  # mono | stereo | transcript
    model: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    speech_seconds: float | None = None
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class Call:
    """A finished call: its source, transcript and analysis, as stored and exported."""

    id: str
    source: Source
    transcript: Transcript
    role_confidence: float | None = None
    objections: list[dict[str, Any]] = field(default_factory=list)
    keywords: list[dict[str, Any]] = field(default_factory=list)
    mentions: list[dict[str, Any]] = field(default_factory=list)
    trackers: list[dict[str, Any]] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        src, tr = self.source, self.transcript
        return {
            "schema_version": SCHEMA_VERSION,
            "id": self.id,
            "source_file": src.name,
            "kind": src.kind,
            "content_hash": src.content_hash,
            "date": src.date,
            "date_source": src.date_source,
            "rep": src.rep,
            "account": src.account,
            "stage": src.stage,
            "meta": src.meta,
            "duration": round(tr.duration, 3),
            "language": tr.language,
            "model": tr.model,
            "settings": tr.settings,
            "channels": tr.channels,
            "role_confidence": self.role_confidence,
            "segments": [asdict(s) for s in tr.segments],
            "objections": self.objections,
            "keywords": self.keywords,
            "mentions": self.mentions,
            "trackers": self.trackers,
            "metrics": self.metrics,
        }


def make_call_id(name: str, content_hash: str) -> str:
    """A stable, file-system-safe id: a slug of the file name plus a hash prefix.

    The hash part keeps two different recordings with the same name apart; the slug keeps
    the id readable in a folder listing.
    """
    stem = name.rsplit(".", 1)[0] if "." in name else name
    slug = "".join(c.lower() if c.isascii() and c.isalnum() else "-" for c in stem)
    slug = "-".join(part for part in slug.split("-") if part)[:48] or "call"
    return f"{slug}-{content_hash[:10]}"
