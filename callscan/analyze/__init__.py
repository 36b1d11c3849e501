"""Analysis of a transcribed call: what the customer objected to, said and was asked.

``ANALYSIS_VERSION`` is part of every call's analysis key: bump it when analysis changes and
the next scan re-analyses stored calls without re-transcribing them.
"""

from __future__ import annotations

import hashlib

from ..schema import Call
from .metrics import conversation_metrics

ANALYSIS_VERSION = "1"


def analysis_key(rep_channel: str) -> str:
    return hashlib.sha256(f"{ANALYSIS_VERSION}|{rep_channel}".encode()).hexdigest()[:16]


def analyze(call: Call) -> Call:
    """Fill the call's analysis fields in place (and return it)."""
    call.metrics = conversation_metrics(call.transcript.segments, call.transcript.duration)
    return call
