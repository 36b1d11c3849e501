"""Analysis of a transcribed call: what the customer objected to, said and was asked.

An ``Analyzer`` bundles everything loaded once per process — the spaCy pipeline, the
objection engine, the lexicon and the trackers — and its ``key`` changes whenever any of
them changes, so the next scan re-analyses stored calls without re-transcribing them.
"""

from __future__ import annotations

import hashlib
import sys
from contextlib import contextmanager
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
        """Analyse several calls with one batched parse (the expensive part) and one batched
        objection prediction."""
        from .utterances import customer_side, parse_many

        encoding = self._encode_in_background(calls)
        with _short_switch_interval(encoding is not None):
            parsed = parse_many(self.nlp, [c.transcript.segments for c in calls], n_process=n_process)
        customers = [customer_side(utterances) for utterances in parsed]
        sides = [(customer, any(u.role == "customer" for u in customer)) for customer in customers]
        objections = self.engine.find_many(sides, encoding.result() if encoding else None)
        for call, utterances, (customer, attributed), found in zip(calls, parsed, sides, objections):
            self._fill(call, utterances, customer, attributed, found)
        return calls

    def _encode_in_background(self, calls: list[Call]):
        """Start the sentence encoder on every customer line while spaCy parses.

        spaCy's parse keeps one core busy; on a second, idle core the encoder finishes inside
        it, hidden. Inside a re-analysis worker no core is idle, so there the model runs the
        encoder after the parse, and only on lines the cascade cannot settle without it.
        """
        import os

        from .encoder import WORKER_ENV
        from .utterances import customer_indices

        encoder = self.engine.model.encoder
        if encoder is None or os.environ.get(WORKER_ENV) or (os.cpu_count() or 1) < 2:
            return None
        # Repeated lines are scored again on purpose: the cost then matches real calls, not the
        # copies a benchmark is made of.
        texts = [c.transcript.segments[i].text for c in calls for i in customer_indices(c.transcript.segments)
                 if c.transcript.segments[i].text.strip()]
        if not texts:
            return None
        return _background(lambda: dict(zip(texts, encoder.scores(texts))))

    def _fill(self, call: Call, utterances, customer, attributed: bool, objections: list[dict]) -> None:
        from .keywords import key_phrase_candidates, mentions
        from .trackers import tracker_counts

        call.objections = objections
        call.keywords = key_phrase_candidates(customer)
        call.mentions = mentions(customer, self.lexicon, self.nlp)
        call.trackers = self.tracker_matcher.match(utterances)
        call.metrics = conversation_metrics(call.transcript.segments, call.transcript.duration)
        call.metrics["objections"] = len({o["segment"] for o in call.objections})
        call.metrics["tracker_counts"] = tracker_counts(call.trackers, self.trackers)
        call.metrics["attributed"] = attributed


@contextmanager
def _short_switch_interval(active: bool):
    """While the encoder thread runs beside the parse, hand the GIL over more often.

    The encoder scores one line per ONNX run and needs the GIL briefly between runs; at
    Python's default 5 ms switch interval it waited behind spaCy for most of each line
    (a 30-minute call: +0.22 s over no encoder; at 0.5 ms: +0.09 s).
    """
    if not active:
        yield
        return
    before = sys.getswitchinterval()
    sys.setswitchinterval(0.0005)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def _background(work):
    """Run ``work`` in a thread (onnxruntime releases the GIL); ``.result()`` waits for it."""
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(1, thread_name_prefix="callscan-encoder")
    future = pool.submit(work)
    pool.shutdown(wait=False)
    return future


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
    for name in ("objections/taxonomy.yaml", "objections/model/classifier.joblib", "objections/model/encoder.onnx",
                 "lexicon.yaml", "trackers.yaml", "roles.yaml"):
        path = models / name
        digest.update(name.encode() + (path.read_bytes() if path.is_file() else b"missing"))
    return digest.hexdigest()[:16]


def analysis_key(models: Path, role_settings: str) -> str:
    """Stored with each call; a mismatch means "re-analyse"."""
    return hashlib.sha256(f"{fingerprint(models)}|{role_settings}".encode()).hexdigest()[:16]
