"""Dual-channel echo: one voice bleeding into the other channel and transcribed twice.

On a two-channel recording each channel should carry one side of the call, but a headset or
a phone line often leaks the other side in, quieter. Whisper then hears the same sentence on
both channels, sometimes word for word, sometimes misheard. Two tests find the echo:

- *Same words at the same time*: word sequences that agree in text and in time on both
  channels are one utterance; it stays on the channel where it is louder (where it starts
  first if the levels are within ``LEVEL_TIE_DB``).
- *Drowned out*: a word whose own channel is more than ``ECHO_MARGIN_DB`` quieter than the
  other channel, while the other channel has words at that moment, is the other side's
  voice leaking in, whatever Whisper made of it.

Real overlapping speech ("right", "yes" said over the other person) is loud on its own
channel, so it stays.
"""

from __future__ import annotations

import bisect
import difflib
import re

import numpy as np

from .schema import Segment, Word
from .speakers import segment_from_words

SAMPLE_RATE = 16000
#: A word counts as the same word on the other channel within this many seconds.
TIME_TOLERANCE = 0.6
#: Two segments are one utterance twice when this share of the shorter one's words match.
MIN_MATCHED_SHARE = 0.5
#: Levels closer than this (dB) do not decide; the earlier start does.
LEVEL_TIE_DB = 1.5
#: A word this much quieter (dB) than the other channel at the same moment is an echo.
ECHO_MARGIN_DB = 10.0


def remove_crosstalk(channels: list[np.ndarray], segments: list[Segment]) -> list[Segment]:
    """Segments with every echoed utterance kept once, on its true channel.

    ``channels`` are the two channels' int16 samples; segments carry ``channel`` 0 or 1.
    When Whisper heard an utterance only as the echo (it missed it on the speaker's own
    channel), the words move to the speaker's channel instead of being dropped.
    """
    echo = _Echo()
    by_channel = [[i for i, s in enumerate(segments) if s.channel == c] for c in (0, 1)]
    _drowned(channels, segments, by_channel, echo)
    right_starts = [segments[b].start for b in by_channel[1]]
    for a in by_channel[0]:
        # Whisper segments last 30 s at most, so earlier ones cannot reach this one.
        first = bisect.bisect_left(right_starts, segments[a].start - 30.0 - TIME_TOLERANCE)
        for b in by_channel[1][first:]:  # in order of start time
            if segments[b].start > segments[a].end + TIME_TOLERANCE:
                break
            if segments[b].end >= segments[a].start - TIME_TOLERANCE:
                _compare(channels, segments, a, b, echo)
    if echo.empty:
        return segments
    kept: list[Segment] = []
    for index, segment in enumerate(segments):
        kept.extend(echo.apply(index, segment))
    kept.sort(key=lambda s: (s.start, s.end))  # a segment cut in two may now straddle others
    return kept


class _Echo:
    """What to do with echoed words: drop them, or move them to the other channel."""

    def __init__(self):
        self.drop: set[tuple[int, int | None]] = set()  # (segment, word index or None: all of it)
        self.move: set[tuple[int, int | None]] = set()

    @property
    def empty(self) -> bool:
        return not self.drop and not self.move

    def apply(self, index: int, segment: Segment) -> list[Segment]:
        if not segment.words:
            if (index, None) in self.drop:
                return []
            if (index, None) in self.move:
                segment.channel = 1 - segment.channel
            return [segment]
        fates = ["drop" if (index, n) in self.drop else "move" if (index, n) in self.move else "keep"
                 for n in range(len(segment.words))]
        if all(f == "keep" for f in fates):
            return [segment]
        pieces: list[tuple[str, list[Word]]] = []
        for fate, word in zip(fates, segment.words):
            if pieces and pieces[-1][0] == fate:
                pieces[-1][1].append(word)
            else:
                pieces.append((fate, [word]))
        channel = {"keep": segment.channel, "move": 1 - segment.channel}
        return [segment_from_words(segment, words, channel=channel[fate]) for fate, words in pieces if fate != "drop"]


def _compare(channels, segments, a: int, b: int, echo: _Echo) -> None:
    seg_a, seg_b = segments[a], segments[b]
    if not seg_a.words or not seg_b.words:
        # No word times: compare whole segments.
        if _similar(seg_a.text, seg_b.text) >= 0.6:
            quieter = _quieter(channels, seg_a, seg_b, seg_a.start, seg_a.end, seg_a.start - seg_b.start)
            echo.drop.add((a if quieter == 0 else b, None))
        return
    pairs = _matched_words(seg_a, seg_b)
    shorter = min(len(seg_a.words), len(seg_b.words))
    if not pairs or len(pairs) < min(2, shorter) or len(pairs) < MIN_MATCHED_SHARE * shorter:
        return
    lo = min(min(seg_a.words[i].start, seg_b.words[j].start) for i, j in pairs)
    hi = max(max(seg_a.words[i].end, seg_b.words[j].end) for i, j in pairs)
    first_a = min(seg_a.words[i].start for i, _ in pairs)
    first_b = min(seg_b.words[j].start for _, j in pairs)
    quieter = _quieter(channels, seg_a, seg_b, lo, hi, first_a - first_b)
    quiet, index = (seg_a, a) if quieter == 0 else (seg_b, b)
    # The echo's words inside the matched stretch go, including ones Whisper misheard there.
    for n, word in enumerate(quiet.words):
        if word.end > lo - 0.2 and word.start < hi + 0.2:
            echo.drop.add((index, n))


def _drowned(channels, segments: list[Segment], by_channel: list[list[int]], echo: _Echo) -> None:
    """Words (or word-less segments) far quieter on their own channel than on the other.

    If the other channel has words at that moment, these are a copy: drop them. If it has
    none but is as loud as its speech, Whisper missed the utterance there: move them over.
    Otherwise (the other side is only noise) they stay."""
    spans = []  # per channel: sorted (start, end) of everything transcribed there
    for indices in by_channel:
        found = [(w.start, w.end) for i in indices for w in segments[i].words]
        found += [(segments[i].start, segments[i].end) for i in indices if not segments[i].words]
        spans.append(sorted(found))
    starts = [[lo for lo, _ in found] for found in spans]
    # How loud each side's own speech is: a move needs the other side talking at that level,
    # not just a noisy line.
    speech = [np.median([_level_db(channels[c], lo, hi) for lo, hi in found[:: max(1, len(found) // 200)]])
              if found else np.inf for c, found in enumerate(spans)]
    for channel, indices in enumerate(by_channel):
        other = 1 - channel
        for index in indices:
            segment = segments[index]
            units = [(n, w.start, w.end) for n, w in enumerate(segment.words)] or [(None, segment.start, segment.end)]
            for n, lo, hi in units:
                there = _level_db(channels[other], lo, hi)
                if _level_db(channels[channel], lo, hi) >= there - ECHO_MARGIN_DB:
                    continue
                if _overlaps(spans[other], starts[other], lo, hi):
                    echo.drop.add((index, n))
                elif there >= speech[other] - ECHO_MARGIN_DB:
                    echo.move.add((index, n))


def _overlaps(spans: list[tuple[float, float]], starts: list[float], lo: float, hi: float) -> bool:
    """Whether the spans cover at least half of [lo, hi] (words can be a few seconds long at most)."""
    need = 0.5 * max(hi - lo, 0.0)
    first = bisect.bisect_left(starts, lo - 30.0)
    covered = sum(max(0.0, min(end, hi) - max(start, lo)) for start, end in spans[first : bisect.bisect_right(starts, hi)])
    return covered >= need and covered > 0


def _matched_words(seg_a: Segment, seg_b: Segment) -> list[tuple[int, int]]:
    """Index pairs of the same word, in the same order, at about the same time."""
    tokens_a = [_token(w.word) for w in seg_a.words]
    tokens_b = [_token(w.word) for w in seg_b.words]
    matcher = difflib.SequenceMatcher(None, tokens_a, tokens_b, autojunk=False)
    pairs = []
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            i, j = block.a + k, block.b + k
            if not tokens_a[i]:
                continue
            wa, wb = seg_a.words[i], seg_b.words[j]
            if abs((wa.start + wa.end) / 2 - (wb.start + wb.end) / 2) <= TIME_TOLERANCE:
                pairs.append((i, j))
    return pairs


def _quieter(channels, seg_a: Segment, seg_b: Segment, lo: float, hi: float, a_later: float) -> int:
    """0 if channel ``seg_a.channel`` is the echo over [lo, hi], else 1."""
    level = [_level_db(channels[s.channel], lo, hi) for s in (seg_a, seg_b)]
    if abs(level[0] - level[1]) >= LEVEL_TIE_DB:
        return 0 if level[0] < level[1] else 1
    return 0 if a_later > 0 else 1


def _level_db(samples: np.ndarray, lo: float, hi: float) -> float:
    if hi - lo < 0.1:  # Whisper gives some words no length; listen around them
        lo, hi = (lo + hi) / 2 - 0.05, (lo + hi) / 2 + 0.05
    chunk = samples[max(0, int(lo * SAMPLE_RATE)) : max(0, int(hi * SAMPLE_RATE))].astype(np.float64)
    if chunk.size == 0:
        return -120.0
    return 10 * float(np.log10(np.mean(chunk * chunk) + 1e-9))


def _token(word: str) -> str:
    return re.sub(r"[^a-z0-9']", "", word.lower())


def _similar(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, _token_list(a), _token_list(b), autojunk=False).ratio()


def _token_list(text: str) -> list[str]:
    return [t for t in (_token(w) for w in text.split()) if t]
