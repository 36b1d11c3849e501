"""Readers for transcripts people already have: WebVTT, SRT, ``Speaker: text`` lines, our JSON.

Every reader returns a ``Transcript`` whose segments carry the speaker names found in the
file, or raises ``InputError``; nothing else escapes (tested with hypothesis).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Callable

from ..errors import InputError
from ..schema import Segment, Transcript

# "Dana Whitfield: text" — a name of 1-4 words, no digits, before a colon.
_SPEAKER_PREFIX = re.compile(r"^\s*([A-Za-z][\w.'\- ]{0,40}?)\s*:\s+(.*)$", re.S)
_TIMESTAMP = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{1,2})(?:[.,](\d{1,3}))?$")
# Plain-text lines may start with a time: "[00:01:02] Dana: text" or "00:01 Dana: text".
_TXT_TIME = re.compile(r"^\s*\[?((?:\d+:)?\d{1,2}:\d{2}(?:[.,]\d{1,3})?)\]?\s+(.*)$", re.S)
_WORDS_PER_SECOND = 2.5  # used to space out untimed plain-text lines


def read_transcript(path: str | Path) -> Transcript:
    path = Path(path)
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        raise InputError(f"unsupported transcript type {path.suffix!r}")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read file ({exc.strerror})") from None
    if not raw.strip():
        raise InputError("empty transcript")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError("transcript is not UTF-8 text") from None
    segments = reader(text)
    segments = [s for s in segments if s.text]
    if not segments:
        raise InputError("no transcript lines found")
    segments.sort(key=lambda s: (s.start, s.end))
    return Transcript(
        segments=segments,
        duration=max(s.end for s in segments),
        channels="transcript",
        model=None,
        settings={"reader": path.suffix.lower().lstrip(".")},
    )


def parse_timestamp(value: str) -> float:
    match = _TIMESTAMP.match(value.strip())
    if not match:
        raise InputError(f"bad timestamp {value[:40]!r}")
    hours, minutes, seconds, fraction = match.groups()
    total = int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds)
    return total + (int(fraction.ljust(3, "0")) / 1000 if fraction else 0.0)


def _split_speaker(text: str, voice: str | None = None) -> tuple[str, str]:
    text = " ".join(text.split())
    if voice:
        return voice.strip(), text
    match = _SPEAKER_PREFIX.match(text)
    if match and len(match.group(1).split()) <= 4:
        return match.group(1).strip(), match.group(2).strip()
    return "speaker", text


def _read_vtt(text: str) -> list[Segment]:
    import webvtt
    from webvtt.errors import MalformedCaptionError, MalformedFileError

    try:
        captions = list(webvtt.from_string(text))
    except (MalformedCaptionError, MalformedFileError, ValueError, IndexError) as exc:
        raise InputError(f"malformed WebVTT ({str(exc)[:80] or type(exc).__name__})") from None
    segments = []
    for caption in captions:
        speaker, body = _split_speaker(caption.text, caption.voice)
        segments.append(_timed_segment(caption.start, caption.end, speaker, body))
    return segments


def _read_srt(text: str) -> list[Segment]:
    import srt

    try:
        subtitles = list(srt.parse(text))
    except (srt.SRTParseError, ValueError, OverflowError) as exc:
        raise InputError(f"malformed SRT ({str(exc)[:80] or type(exc).__name__})") from None
    segments = []
    for sub in subtitles:
        speaker, body = _split_speaker(re.sub(r"<[^>]+>", "", sub.content))
        start, end = sub.start.total_seconds(), sub.end.total_seconds()
        segments.append(Segment(start=start, end=max(start, end), text=body, speaker=speaker))
    return segments


def _timed_segment(start: str, end: str, speaker: str, body: str) -> Segment:
    lo, hi = parse_timestamp(start), parse_timestamp(end)
    return Segment(start=lo, end=max(lo, hi), text=body, speaker=speaker)


def _read_txt(text: str) -> list[Segment]:
    """``Speaker: text`` per line, optionally with a leading time; untimed lines are spaced out."""
    segments: list[Segment] = []
    clock = 0.0
    for line in text.splitlines():
        if not line.strip():
            continue
        start = None
        timed = _TXT_TIME.match(line)
        if timed:
            start, line = parse_timestamp(timed.group(1)), timed.group(2)
        speaker, body = _split_speaker(line)
        if speaker == "speaker" and segments:
            # A line without a name continues the previous speaker's turn.
            speaker = segments[-1].speaker
        begin = start if start is not None else clock
        length = max(1.0, len(body.split()) / _WORDS_PER_SECOND)
        segments.append(Segment(start=begin, end=begin + length, text=body, speaker=speaker))
        clock = begin + length
    return segments


def _read_json(text: str) -> list[Segment]:
    """callscan's own ``calls/<id>.json`` (or any object with a ``segments`` list)."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise InputError("malformed JSON") from None
    items = data.get("segments") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise InputError("JSON has no 'segments' list (expected callscan's call JSON)")
    segments = []
    for number, item in enumerate(items, 1):
        try:
            segment = Segment.from_dict(item)
            segment.start, segment.end = float(segment.start), float(segment.end)
            segment.text = str(segment.text).strip()
            segment.speaker = str(segment.speaker)
        except (TypeError, ValueError, AttributeError):
            raise InputError(f"JSON segment {number} is malformed (needs start, end, text)") from None
        if segment.role not in ("rep", "customer", "unknown"):
            segment.role = "unknown"
        segments.append(segment)
    return segments


_READERS: dict[str, Callable[[str], list[Segment]]] = {
    ".vtt": _read_vtt,
    ".srt": _read_srt,
    ".txt": _read_txt,
    ".json": _read_json,
}
