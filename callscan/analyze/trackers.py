"""Trackers: coach-defined phrases ("case study", "next step") found in what was said.

A tracker is a named list of phrases plus who must say them. Phrases match in any case and
in other word forms ("case studies" finds "case study", "we integrated" finds "integrate"),
because the patterns are compared by lemma as well as by lower-case text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import CallscanError
from .utterances import Utterance

if TYPE_CHECKING:
    from spacy.tokens import Doc, Span

WHO = ("rep", "customer", "any")
_FORMAT_HINT = "each tracker is `name: {who: rep|customer|any, phrases: [...]}`; see models/trackers.yaml"


@dataclass
class Tracker:
    name: str
    phrases: list[str]
    who: str = "any"  # rep | customer | any: whose words count
    description: str = ""  # shown to coaches next to the count


@dataclass(frozen=True)
class PhraseHit:
    key: str  # the group the phrase belongs to (a tracker name, a channel id, ...)
    phrase: str  # the phrase as configured
    span: "Span"


class PhraseFinder:
    """Finds configured phrases in parsed docs, ignoring case and (optionally) inflection.

    Two spaCy PhraseMatchers share the work: one on LOWER catches exact wording in any case
    ("ROI", "roi"), one on LEMMA catches other forms ("compared" for "compare"). Pattern docs
    go through the tagger and lemmatizer once, here, so matching a call parses nothing.
    """

    def __init__(self, nlp, groups: Mapping[str, Sequence[str]], lemmas: bool = True):
        from spacy.matcher import PhraseMatcher

        self._labels: dict[int, tuple[str, str]] = {}
        self._lower = PhraseMatcher(nlp.vocab, attr="LOWER")
        self._lemma = PhraseMatcher(nlp.vocab, attr="LEMMA") if lemmas else None
        pairs = [(key, p.strip()) for key, phrases in groups.items() for p in phrases if p.strip()]
        labels = [self._label(nlp, key, phrase, i) for i, (key, phrase) in enumerate(pairs)]
        texts = [phrase.lower() for _, phrase in pairs]
        for label, text in zip(labels, texts):
            self._lower.add(label, [nlp.make_doc(text)])
        if self._lemma is not None:
            # Parser and NER do not feed the lemmatizer; skipping them keeps start-up quick.
            skip = [name for name in ("parser", "ner") if name in nlp.pipe_names]
            for label, doc in zip(labels, nlp.pipe(texts, disable=skip)):
                self._lemma.add(label, [doc])

    def _label(self, nlp, key: str, phrase: str, i: int) -> str:
        label = f"callscan-phrase-{id(self)}-{i}"
        self._labels[nlp.vocab.strings.add(label)] = (key, phrase)
        return label

    def find(self, doc: "Doc") -> list[PhraseHit]:
        """Hits in text order; overlapping hits of one key collapse to the longest."""
        matches = list(self._lower(doc))
        if self._lemma is not None and doc.has_annotation("LEMMA"):
            matches += self._lemma(doc)
        hits = [PhraseHit(*self._labels[m], doc[s:e]) for m, s, e in matches]
        return _longest_per_key(hits)


def _longest_per_key(hits: list[PhraseHit]) -> list[PhraseHit]:
    hits.sort(key=lambda h: (h.span.start - h.span.end, h.span.start))  # longest first
    kept: list[PhraseHit] = []
    for hit in hits:
        if not any(k.key == hit.key and _overlap(k.span, hit.span) for k in kept):
            kept.append(hit)
    return sorted(kept, key=lambda h: (h.span.start, h.span.end))


def _overlap(a: "Span", b: "Span") -> bool:
    return a.start < b.end and b.start < a.end


def sentence_of(span: "Span") -> "Span":
    """The sentence around a span; the whole utterance when the doc was not parsed."""
    return span.sent if span.doc.has_annotation("SENT_START") else span.doc[:]


def sentence_times(utterance: Utterance, sent: "Span") -> tuple[float, float]:
    """When a sentence began and ended, estimated by its share of the utterance's characters.

    Utterances carry no word times, and a long turn can hold many sentences; spreading the
    turn's time by character offset puts a jump-to link within a second or two.
    """
    size, span = max(len(utterance.doc.text), 1), utterance.end - utterance.start
    start = utterance.start + span * sent.start_char / size
    end = utterance.start + span * min(sent.end_char, size) / size
    return round(start, 2), round(end, 2)


def load_trackers(path: Path) -> list[Tracker]:
    """Read trackers from a YAML mapping of name -> {who, phrases, description}."""
    from ..datafile import read_yaml

    data = read_yaml(path, "trackers file", _FORMAT_HINT)
    if not isinstance(data, dict) or not data:
        raise CallscanError(f"trackers file {path} must map tracker names to settings", hint=_FORMAT_HINT)
    return [_tracker(path, name, body) for name, body in data.items()]


def _tracker(path: Path, name: Any, body: Any) -> Tracker:
    where = f"tracker {name!r} in {path}"
    if not isinstance(body, dict):
        raise CallscanError(f"{where} must be a mapping with `who` and `phrases`", hint=_FORMAT_HINT)
    phrases, who = body.get("phrases"), body.get("who", "any")
    if not (isinstance(phrases, list) and phrases and all(isinstance(p, str) and p.strip() for p in phrases)):
        raise CallscanError(f"{where} needs `phrases`: a non-empty list of text", hint=_FORMAT_HINT)
    if who not in WHO:
        raise CallscanError(f"{where} has who={who!r}; use one of {', '.join(WHO)}", hint=_FORMAT_HINT)
    return Tracker(str(name), [p.strip() for p in phrases], who, str(body.get("description") or ""))


class TrackerMatcher:
    """Matches trackers against parsed utterances; build once, reuse for every call."""

    def __init__(self, nlp, trackers: Sequence[Tracker]):
        self.trackers = list(trackers)
        self._who = {t.name: t.who for t in self.trackers}
        self._finder = PhraseFinder(nlp, {t.name: t.phrases for t in self.trackers})

    def match(self, utterances: Iterable[Utterance]) -> list[dict]:
        """Every tracker phrase said by the right side, in call order.

        A `rep` or `customer` tracker only counts utterances with that role; utterances whose
        role is unknown count only for `any` trackers, so coaching never credits a guess.
        """
        hits: list[dict] = []
        for u in utterances:
            for hit in self._finder.find(u.doc):
                if self._who[hit.key] in ("any", u.role):
                    hits.append(_hit_dict(u, hit))
        return hits


def _hit_dict(u: Utterance, hit: PhraseHit) -> dict:
    sent = sentence_of(hit.span)
    return {
        "tracker": hit.key,
        "phrase": hit.phrase,
        "role": u.role,
        "speaker": u.speaker,
        "start": sentence_times(u, sent)[0],
        "text": sent.text.strip(),
    }


def tracker_counts(hits: Iterable[dict], trackers: Iterable[Tracker]) -> dict[str, int]:
    """Hits per tracker, every tracker present (0 when never said), in file order."""
    counts = {t.name: 0 for t in trackers}
    for hit in hits:
        if hit["tracker"] in counts:
            counts[hit["tracker"]] += 1
    return counts
