"""Which speaker is the rep, from what each one says.

The cues live in ``models/roles.yaml`` (a rep introduces themselves and their company,
speaks for the product, asks discovery questions and proposes next steps; a customer talks
about their budget, their boss and the tools they use). Each speaker gets a score, the sum of
the weights of the cues found in their words; the highest score is the rep, and the gap to
the next speaker becomes the confidence.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from .errors import CallscanError

#: How much score gap makes a confident call: at a gap of ``CONFIDENCE_SCALE`` the
#: confidence is about 0.73, at twice that 0.88.
CONFIDENCE_SCALE = 2.5
#: The first speaker on a call is usually the rep (they placed the call, or they answer it);
#: on its own that is a guess (confidence 0.57).
FIRST_SPEAKER_BONUS = 0.75
_FORMAT_HINT = "each cue is `name: {weight: number, max_count: n, patterns: [regex, ...]}`; see models/roles.yaml"


@dataclass(frozen=True)
class Cue:
    name: str
    weight: float
    patterns: tuple[str, ...]
    max_count: int = 3


@dataclass(frozen=True)
class RoleGuess:
    """The likeliest rep, everyone's score, and how sure the choice is (0.5 = a coin toss)."""

    rep: str | None
    confidence: float
    scores: dict[str, float]


@lru_cache(maxsize=4)
def load_cues(path: Path) -> tuple[Cue, ...]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CallscanError(f"cannot read role cues {path} ({exc.strerror})",
                            hint="set CALLSCAN_MODELS to a folder with roles.yaml") from None
    except yaml.YAMLError as exc:
        raise CallscanError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})", hint=_FORMAT_HINT) from None
    if not isinstance(data, dict):
        raise CallscanError(f"{path}: expected a mapping of cue names", hint=_FORMAT_HINT)
    cues = []
    for name, spec in data.items():
        try:
            cue = Cue(str(name), float(spec["weight"]), tuple(str(p) for p in spec["patterns"]),
                      int(spec.get("max_count", 3)))
            for pattern in cue.patterns:
                re.compile(pattern.replace("{rep}", "name"))
        except (TypeError, KeyError, ValueError, re.error) as exc:
            raise CallscanError(f"{path}: cue {name!r} is malformed ({exc})", hint=_FORMAT_HINT) from None
        cues.append(cue)
    return tuple(cues)


def guess_rep(turns: Iterable[tuple[str, str]], cues: tuple[Cue, ...], rep_name: str | None = None) -> RoleGuess:
    """Score every speaker in ``turns`` ((speaker, text) in time order) and pick the rep."""
    first = _first_name(rep_name)
    texts: dict[str, list[str]] = {}
    for speaker, text in turns:
        texts.setdefault(speaker, []).append(_normalise(text, first))
    if not texts:
        return RoleGuess(None, 0.0, {})
    compiled = _compile(cues, first)
    scores = {speaker: _score(lines, compiled) for speaker, lines in texts.items()}
    speakers = list(texts)
    if len(speakers) > 1:
        scores[speakers[0]] += FIRST_SPEAKER_BONUS
    ranked = sorted(speakers, key=lambda s: -scores[s])
    gap = scores[ranked[0]] - (scores[ranked[1]] if len(ranked) > 1 else 0.0)
    return RoleGuess(ranked[0], confidence_from_gap(gap), {s: round(v, 2) for s, v in scores.items()})


def confidence_from_gap(gap: float) -> float:
    """A score gap as a probability-like confidence in [0.5, 1)."""
    return 1.0 / (1.0 + math.exp(-abs(gap) / CONFIDENCE_SCALE))


def _score(lines: list[str], compiled: list[tuple[Cue, list[re.Pattern]]]) -> float:
    total = 0.0
    for cue, patterns in compiled:
        count = sum(len(p.findall(line)) for p in patterns for line in lines)
        total += cue.weight * min(count, cue.max_count)
    return total


def _compile(cues: tuple[Cue, ...], first_name: str | None) -> list[tuple[Cue, list[re.Pattern]]]:
    compiled = []
    for cue in cues:
        patterns = []
        for pattern in cue.patterns:
            if "{rep}" in pattern:
                if not first_name:
                    continue
                pattern = pattern.replace("{rep}", re.escape(first_name))
            patterns.append(re.compile(pattern))
        compiled.append((cue, patterns))
    return compiled


def _first_name(rep_name: str | None) -> str | None:
    parts = _normalise(rep_name or "", None).split()
    return parts[0] if parts else None


def _normalise(text: str, first_name: str | None) -> str:
    """Lower case, curly apostrophes straightened, other punctuation dropped; a word that is
    a near miss of the rep's first name (Whisper's "Dayna" for "Dana") becomes the name."""
    text = text.lower().replace("\u2019", "'")
    words = re.findall(r"[a-z0-9]+(?:'[a-z]+)?", text)
    if first_name:
        words = [first_name if _near(w, first_name) else w for w in words]
    return " ".join(words)


@lru_cache(maxsize=4096)
def _near(word: str, name: str) -> bool:
    if word == name:
        return True
    if len(word) < 3 or word[0] != name[0] or abs(len(word) - len(name)) > 2:
        return False
    return difflib.SequenceMatcher(None, word, name).ratio() >= 0.8
