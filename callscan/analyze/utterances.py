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
    return parse_many(nlp, [segments], batch_size)[0]


def parse_many(nlp, calls: list[list[Segment]], batch_size: int = 1000, n_process: int = 1) -> list[list[Utterance]]:
    """``parse_segments`` for many calls in two streams, so batches fill up across calls
    (re-analysing a store parses thousands of calls; ``n_process`` spreads that over cores)."""
    customer = [set(customer_indices(segments)) for segments in calls]
    wanted = [(c, i) for c, segments in enumerate(calls) for i in range(len(segments))]
    full = nlp.pipe((calls[c][i].text for c, i in wanted if i in customer[c]), batch_size=batch_size, n_process=n_process)
    light = nlp.pipe((calls[c][i].text for c, i in wanted if i not in customer[c]), batch_size=batch_size,
                     disable=list(LIGHT), n_process=n_process)
    # The statistical sentence splitter (shipped, disabled by default) is ~20x cheaper than the
    # parser and keeps tracker hits pinned to their sentence.
    light = nlp.get_pipe("senter").pipe(light) if "senter" in nlp.component_names else light
    # Both streams are consumed in input order, so interleaving them by role keeps alignment.
    full, light = list(full), list(light)
    full_iter, light_iter = iter(full), iter(light)
    result: list[list[Utterance]] = []
    for c, segments in enumerate(calls):
        result.append([
            Utterance(i, s.text, s.start, s.end, s.speaker, s.role, next(full_iter) if i in customer[c] else next(light_iter))
            for i, s in enumerate(segments)
        ])
    return result


def customer_indices(segments: list[Segment]) -> list[int]:
    """What the customer said; when no roles are known, everything (results are then unattributed)."""
    wanted = "customer" if any(s.role == "customer" for s in segments) else "unknown"
    return [i for i, s in enumerate(segments) if s.role == wanted]


def customer_side(utterances: Iterable[Utterance]) -> list[Utterance]:
    utterances = list(utterances)
    wanted = "customer" if any(u.role == "customer" for u in utterances) else "unknown"
    return [u for u in utterances if u.role == wanted]
