"""Helpers shared by the benchmark scripts: sample files, ground truth, timeline arithmetic."""

from __future__ import annotations

import json
import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "sample_calls"
TRUTH = SAMPLES / "truth"


def sample_audio() -> list[Path]:
    return sorted(p for p in SAMPLES.iterdir() if p.suffix in {".wav", ".mp3", ".ogg", ".m4a"})


def truth_for(path: Path) -> dict:
    return json.loads((TRUTH / f"{path.stem}.json").read_text())


def union(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def overlap(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> float:
    total = 0.0
    for start, end in a:
        for s2, e2 in b:
            total += max(0.0, min(end, e2) - max(start, s2))
    return total


def coverage(truth_turns: list[dict], words: list[tuple[float, float]], pad: float = 0.3) -> float:
    """Share of true speech time that has transcribed words within `pad` seconds."""
    speech = union([(t["start"], t["end"]) for t in truth_turns])
    heard = union([(s - pad, e + pad) for s, e in words])
    length = sum(e - s for s, e in speech)
    return overlap(speech, heard) / length if length else 1.0


def tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower().replace("$", ""))


def words_recovered(truth_text: str, heard_text: str) -> float:
    """Bag-of-words recall: share of the script's words that appear in the transcript."""
    from collections import Counter

    want, got = Counter(tokens(truth_text)), Counter(tokens(heard_text))
    return sum(min(n, got[w]) for w, n in want.items()) / max(1, sum(want.values()))
