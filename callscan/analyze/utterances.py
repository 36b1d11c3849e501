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


# The rep's words only feed the trackers, which need lemmas: skipping the parser and the
# entity recogniser there halves the parse time of a call.
LIGHT = ("parser", "ner")


def parse_segments(nlp, segments: list[Segment], batch_size: int = 256) -> list[Utterance]:
    """Parse each segment once: the customer side fully, everyone else for lemmas only."""
    customer = set(customer_indices(segments))
    full = nlp.pipe((segments[i].text for i in sorted(customer)), batch_size=batch_size)
    light = nlp.pipe((s.text for i, s in enumerate(segments) if i not in customer),
                     batch_size=batch_size, disable=list(LIGHT))
    # The statistical sentence splitter (shipped, disabled by default) is ~20x cheaper than the
    # parser and keeps tracker hits pinned to their sentence.
    light = nlp.get_pipe("senter").pipe(light) if "senter" in nlp.component_names else light
    docs = [next(full) if i in customer else next(light) for i in range(len(segments))]
    return [Utterance(i, s.text, s.start, s.end, s.speaker, s.role, doc) for i, (s, doc) in enumerate(zip(segments, docs))]


def customer_indices(segments: list[Segment]) -> list[int]:
    """What the customer said; when no roles are known, everything (results are then unattributed)."""
    wanted = "customer" if any(s.role == "customer" for s in segments) else "unknown"
    return [i for i, s in enumerate(segments) if s.role == wanted]


def customer_side(utterances: Iterable[Utterance]) -> list[Utterance]:
    utterances = list(utterances)
    wanted = "customer" if any(u.role == "customer" for u in utterances) else "unknown"
    return [u for u in utterances if u.role == wanted]
