"""Analysis of a transcribed call: what the customer objected to, said and was asked.

An ``Analyzer`` bundles everything loaded once per process — the spaCy pipeline, the
objection engine, the lexicon and the trackers — and its ``key`` changes whenever any of
them changes, so the next scan re-analyses stored calls without re-transcribing them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..schema import Call
from .metrics import conversation_metrics

ANALYSIS_VERSION = "2"


@dataclass
class Analyzer:
    nlp: object
    engine: object  # objections.ObjectionEngine
    lexicon: object  # keywords.Lexicon
    trackers: list
    tracker_matcher: object
    key: str

    def analyze(self, call: Call) -> Call:
        """Fill the call's analysis fields in place (and return it)."""
        return self.analyze_many([call])[0]

    def analyze_many(self, calls: list[Call], n_process: int = 1) -> list[Call]:
        """Analyse several calls with one batched parse (the expensive part)."""
        from .utterances import parse_many

        parsed = parse_many(self.nlp, [c.transcript.segments for c in calls], n_process=n_process)
        for call, utterances in zip(calls, parsed):
            self._fill(call, utterances)
        return calls

    def _fill(self, call: Call, utterances) -> None:
        from .keywords import key_phrase_candidates, mentions
        from .trackers import tracker_counts
        from .utterances import customer_side

        customer = customer_side(utterances)
        attributed = any(u.role == "customer" for u in customer)
        call.objections = self.engine.find(customer, attributed)
        call.keywords = key_phrase_candidates(customer)
        call.mentions = mentions(customer, self.lexicon, self.nlp)
        call.trackers = self.tracker_matcher.match(utterances)
        call.metrics = conversation_metrics(call.transcript.segments, call.transcript.duration)
        call.metrics["objections"] = len({o["segment"] for o in call.objections})
        call.metrics["tracker_counts"] = tracker_counts(call.trackers, self.trackers)
        call.metrics["attributed"] = attributed


@lru_cache(maxsize=2)
def load_analyzer(models: Path) -> Analyzer:
    from .keywords import load_lexicon
    from .nlp import load_nlp
    from .objections import load_engine
    from .trackers import TrackerMatcher, load_trackers

    nlp = load_nlp()
    engine = load_engine(models / "objections")
    lexicon = load_lexicon(models / "lexicon.yaml")
    trackers = load_trackers(models / "trackers.yaml")
    return Analyzer(nlp, engine, lexicon, trackers, TrackerMatcher(nlp, trackers), fingerprint(models))


@lru_cache(maxsize=4)
def fingerprint(models: Path) -> str:
    """A hash of everything analysis depends on, computed from files without loading any model,
    so a re-run with nothing new never pays for loading spaCy."""
    from .nlp import pipeline_version

    digest = hashlib.sha256(f"{ANALYSIS_VERSION}|{pipeline_version()}".encode())
    for name in ("objections/taxonomy.yaml", "objections/model/classifier.joblib", "lexicon.yaml", "trackers.yaml",
                 "roles.yaml"):
        path = models / name
        digest.update(name.encode() + (path.read_bytes() if path.is_file() else b"missing"))
    return digest.hexdigest()[:16]


def analysis_key(models: Path, role_settings: str) -> str:
    """Stored with each call; a mismatch means "re-analyse"."""
    return hashlib.sha256(f"{fingerprint(models)}|{role_settings}".encode()).hexdigest()[:16]
