"""Remove personal data from what callscan shows: emails, phone numbers, payment cards, SSNs.

Redaction happens when pages and exports are rendered, so the store keeps the words a user
may need to re-check, while everything that leaves the tool (HTML, JSON, CSV, audio clips)
can be redacted. Each finding is replaced by a bracketed kind (``[email]``) and, where word
time stamps exist, gives a time span to mute in audio clips.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass

from .schema import Call, Segment

# Spoken digits come out of Whisper as words too ("four one five"), so numbers may be words.
_DIGIT_WORDS = "zero|oh|one|two|three|four|five|six|seven|eight|nine"
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_SPOKEN_EMAIL = re.compile(r"\b[\w.+-]+ at [\w-]+ dot (?:com|org|net|io|co|edu|gov)\b", re.I)
_CARD = re.compile(r"\b(?:\d[ -]?){12,18}\d\b")
_SSN = re.compile(r"\b\d{3}[- ]\d{2}[- ]\d{4}\b")
_PHONE = re.compile(r"(?<![\w@])(?:\+?\d{1,2}[\s.-]?)?(?:\(\d{3}\)|\d{3})[\s.-]?\d{3}[\s.-]?\d{4}\b")
_SPOKEN_NUMBER = re.compile(rf"\b(?:(?:{_DIGIT_WORDS})[\s,-]+){{6,}}(?:{_DIGIT_WORDS})\b", re.I)

KINDS = ("email", "card", "ssn", "phone", "number")


@dataclass(frozen=True)
class Finding:
    kind: str
    start: int  # character offsets in the text
    end: int


def find(text: str) -> list[Finding]:
    """Every piece of personal data in the text, longest first where they overlap."""
    found: list[Finding] = []
    for kind, pattern in (("email", _EMAIL), ("email", _SPOKEN_EMAIL), ("card", _CARD), ("ssn", _SSN),
                          ("phone", _PHONE), ("number", _SPOKEN_NUMBER)):
        for match in pattern.finditer(text):
            if kind == "card" and not luhn_ok(match.group()):
                continue
            if not any(f.start < match.end() and match.start() < f.end for f in found):
                found.append(Finding(kind, match.start(), match.end()))
    return sorted(found, key=lambda f: f.start)


def luhn_ok(candidate: str) -> bool:
    digits = [int(c) for c in candidate if c.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for i, digit in enumerate(reversed(digits)):
        if i % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def redact_text(text: str) -> str:
    out, last = [], 0
    for finding in find(text):
        out.append(text[last:finding.start])
        out.append(f"[{finding.kind}]")
        last = finding.end
    out.append(text[last:])
    return "".join(out)


def redact_call(call: Call) -> tuple[Call, list[tuple[float, float]]]:
    """A redacted copy of the call, and the time spans (seconds) to mute in its audio."""
    call = copy.deepcopy(call)
    mute: list[tuple[float, float]] = []
    for segment in call.transcript.segments:
        mute.extend(_redact_segment(segment))
    for item in call.objections + call.mentions + call.trackers:
        if isinstance(item.get("text"), str):
            item["text"] = redact_text(item["text"])
    call.mentions = [m for m in call.mentions if not find(str(m.get("value", "")))]
    for keyword in call.keywords:
        for field in ("phrase", "text"):
            if isinstance(keyword.get(field), str):
                keyword[field] = redact_text(keyword[field])
    return call, mute


def _redact_segment(segment: Segment) -> list[tuple[float, float]]:
    findings = find(segment.text)
    if not findings:
        return []
    spans = _word_spans(segment, findings)
    segment.text = redact_text(segment.text)
    for word in segment.words:
        if any(start <= (word.start + word.end) / 2 <= end for start, end in spans):
            word.word = "[redacted]"
    return spans


def _word_spans(segment: Segment, findings: list[Finding]) -> list[tuple[float, float]]:
    """Map character findings to times through the words; the whole segment if words are absent."""
    if not segment.words:
        return [(segment.start, segment.end)]
    spans = []
    offsets = _word_offsets(segment)
    for finding in findings:
        hit = [w for w, (lo, hi) in zip(segment.words, offsets) if lo < finding.end and finding.start < hi]
        spans.append((hit[0].start, hit[-1].end) if hit else (segment.start, segment.end))
    return spans


def _word_offsets(segment: Segment) -> list[tuple[int, int]]:
    """Where each word sits in the segment text (Whisper's words join to the text)."""
    offsets, cursor = [], 0
    lowered = segment.text.lower()
    for word in segment.words:
        token = word.word.strip().lower()
        at = lowered.find(token, cursor) if token else -1
        if at < 0:
            offsets.append((cursor, cursor))
            continue
        offsets.append((at, at + len(token)))
        cursor = at + len(token)
    return offsets
