"""Transcript text formats for ``callscan transcribe``: txt, vtt, srt, json."""

from __future__ import annotations

import json

from .schema import Call


def format_transcript(call: Call, fmt: str) -> str:
    return _FORMATS[fmt](call)


def _stamp(seconds: float, sep: str) -> str:
    millis = int(round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{sep}{millis:03d}"


def _txt(call: Call) -> str:
    return "".join(f"[{_stamp(s.start, '.')[:-4]}] {s.speaker}: {s.text}\n" for s in call.transcript.segments)


def _vtt(call: Call) -> str:
    cues = [
        f"{_stamp(s.start, '.')} --> {_stamp(s.end, '.')}\n<v {s.speaker}>{_cue_text(s.text)}</v>\n"
        for s in call.transcript.segments
    ]
    return "WEBVTT\n\n" + "\n".join(cues)


def _cue_text(text: str) -> str:
    # WebVTT cue text is markup: escape what would start a tag or an entity.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _srt(call: Call) -> str:
    return "\n".join(
        f"{i}\n{_stamp(s.start, ',')} --> {_stamp(s.end, ',')}\n{s.speaker}: {s.text}\n"
        for i, s in enumerate(call.transcript.segments, 1)
    )


def _json(call: Call) -> str:
    return json.dumps(call.to_json(), indent=2, ensure_ascii=False) + "\n"


_FORMATS = {"txt": _txt, "vtt": _vtt, "srt": _srt, "json": _json}
