"""Segments paired with their parsed spaCy ``Doc``: the unit every analyser works on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable

from ..schema import Segment

if TYPE_CHECKING:
    from spacy.tokens import Doc


@dataclass
class Utterance:
    index: int  # the segment's index in the call
    text: str
    start: float
    end: float
    speaker: str
    role: str  # rep | customer | unknown
    doc: "Doc"


def parse_segments(nlp, segments: list[Segment], batch_size: int = 256) -> list[Utterance]:
    """Parse every segment once with the full pipeline (nlp.pipe, batched)."""
    docs = nlp.pipe((s.text for s in segments), batch_size=batch_size)
    return [
        Utterance(i, s.text, s.start, s.end, s.speaker, s.role, doc)
        for i, (s, doc) in enumerate(zip(segments, docs))
    ]


def customer_side(utterances: Iterable[Utterance]) -> list[Utterance]:
    """What the customer said; when no roles are known, everything (results are then unattributed)."""
    utterances = list(utterances)
    if any(u.role == "customer" for u in utterances):
        return [u for u in utterances if u.role == "customer"]
    return [u for u in utterances if u.role == "unknown"]
