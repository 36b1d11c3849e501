"""Who said it: speaker separation and rep/customer roles, measured against known answers.

    python bench/speakers.py            # ~4 minutes on 2 cores; writes bench/results/speakers.json
    python bench/speakers.py --quick    # skips the similar-voice calls and the echo test

Cases (truth in every one):
- distinct voices: the dual-channel sample calls mixed to mono (rep kal_diphone, male;
  customer cmu_us_slt_arctic_hts, female). The channels are the truth.
- similar voices: three scripts re-synthesised with two male voices (kal_diphone as the rep,
  ked_diphone as the customer) and mixed to mono.
- mono samples: the mono sample calls as they are (their truth files give the turns).
- one voice: a mix's words of one side only, on that side's own channel (must stay 1 speaker).
- three voices: one script whose customer turns are shared by two voices (kal, slt, ked).
- echo: dual-channel sample calls with each side leaking into the other at -12 dB.
- telephone band and noise: the distinct and similar mixes band-limited to 300-3400 Hz with
  noise at 30 and 15 dB SNR (separation only, on the clean transcription's words).
- transcripts: the sample VTT, with and without the manifest's rep name.

Measures: word-level speaker accuracy (each transcribed word's speaker against the truth turn
active at the word's midpoint; speaker labels are matched one-to-one to the true speakers),
word-level role accuracy, whether each call's rep is right, role confidence, and the cost of
separation (``timings["speakers"]``) against transcription (``timings["transcribe"]``).
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from dataclasses import replace
from unittest import mock

import numpy as np

from common import REPO, SAMPLES, TRUTH, sample_audio
from mono_mix import MonoCase, _as_mono, _manifest_rep, mono_mixes, similar_voice_calls, three_voice_call

from callscan.config import TranscribeOptions
from callscan.schema import Segment, Source, Transcript
from callscan.speakers import assign_roles, separate_speakers
from callscan.transcribe import transcribe_audio, transcribe_file

THREADS = 2
OPTIONS = TranscribeOptions()
ECHO_GAIN = 0.25  # -12 dB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="skip the similar-voice calls and the echo test")
    args = parser.parse_args()
    results: dict = {}
    mixes = mono_mixes()
    heard: list[tuple[MonoCase, Transcript]] = []
    results["distinct_voices"] = _summary([_mono_case(case, heard) for case in mixes])
    if not args.quick:
        similar = similar_voice_calls()
        results["similar_voices"] = _summary([_mono_case(case, heard) for case in similar])
        results["telephone_band_and_noise"] = _degraded(heard)
    samples = [_mono_case(case) for case in _mono_samples()]
    results["mono_samples"] = _summary(samples)
    results["one_voice"] = _one_voice()
    if not args.quick:
        results["three_voices"] = _three_voices()
        results["echo"] = _echo()
    results["stereo_roles"] = _stereo_roles()
    results["transcripts"] = _transcripts()
    cases = [c for key in ("distinct_voices", "similar_voices", "mono_samples", "three_voices")
             for c in results.get(key, {}).get("calls", [])]
    results["overall"] = {
        "role_calls_right": f"{sum(c['rep_right'] for c in cases) + results['stereo_roles']['right']}"
                            f"/{len(cases) + results['stereo_roles']['calls']}",
        "separation_share_of_transcription": _share(cases),
        "worst_call_share": max(c["time_share"] for c in cases),
    }
    out = REPO / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "speakers.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps({k: {kk: vv for kk, vv in v.items() if kk != "calls"} if isinstance(v, dict) else v
                      for k, v in results.items()}, indent=2))


# -- cases -------------------------------------------------------------------------------------

def _mono_samples() -> list[MonoCase]:
    from callscan.ingest.audio import decode

    cases = []
    for path in sample_audio():
        truth = json.loads((TRUTH / f"{path.stem}.json").read_text())
        if truth["channels"] == "mono":
            cases.append(MonoCase(path.stem, decode(path), truth["turns"], _manifest_rep(path.name)))
    return cases


def _mono_case(case: MonoCase, heard: list | None = None) -> dict:
    transcript = transcribe_audio(case.audio, OPTIONS, THREADS)
    if heard is not None:
        heard.append((case, copy.deepcopy(transcript)))
    return _score(case.name, transcript, case.turns, case.rep)


def _degraded(heard: list[tuple[MonoCase, Transcript]]) -> dict:
    """The same calls through a telephone band (300-3400 Hz) with noise at 30 and 15 dB SNR.

    Separation only: the words and their times are the clean transcription's, so this shows
    what the voice features survive, not what Whisper would hear."""
    from scipy.signal import butter, sosfilt

    band = butter(4, [300, 3400], btype="band", fs=16000, output="sos")
    rng = np.random.default_rng(0)
    rows = []
    for case, transcript in heard:
        x = sosfilt(band, case.audio.samples(0).astype(np.float64))
        level = np.sqrt(np.mean(x[np.abs(x) > 300] ** 2))
        for snr in (30, 15):
            noisy = np.round(x + rng.normal(0, level / 10 ** (snr / 20), len(x)))
            segments = separate_speakers(_as_mono(noisy), [copy.deepcopy(s) for s in transcript.segments])
            words = [(w, s.speaker) for s in segments for w in s.words]
            truth = [_truth_at(case.turns, (w.start + w.end) / 2) for w, _ in words]
            rows.append({"call": case.name, "snr_db": snr, "speakers_found": len({s for _, s in words}),
                         "speaker_accuracy": round(_mapped_accuracy([s for _, s in words], truth), 4)})
    summary = {}
    for snr in (30, 15):
        at = [r for r in rows if r["snr_db"] == snr]
        summary[f"snr_{snr}_db"] = {"speaker_accuracy_mean": round(float(np.mean([r["speaker_accuracy"] for r in at])), 4),
                                    "calls_left_as_one_speaker": sum(r["speakers_found"] == 1 for r in at),
                                    "calls": len(at)}
    return {**summary, "calls": rows}


def _score(name: str, transcript: Transcript, turns: list[dict], rep: str | None) -> dict:
    confidence = assign_roles(transcript, Source(name, name, "audio", "0" * 16, 0, rep=rep))
    words = [(w, s) for s in transcript.segments for w in s.words]
    truth = [_truth_at(turns, (w.start + w.end) / 2) for w, _ in words]
    roles = ["rep" if t == "rep" else "customer" for t in truth]
    labels = [s.speaker for _, s in words]
    speakers = sorted(set(labels))
    rep_label = _majority([l for l, t in zip(labels, truth) if t == "rep"])
    timings = transcript.timings
    return {
        "call": name,
        "words": len(words),
        "speakers_found": len(speakers),
        "speaker_accuracy": round(_mapped_accuracy(labels, truth), 4),
        "role_accuracy": round(float(np.mean([s.role == r for (_, s), r in zip(words, roles)])), 4),
        "rep_right": bool(rep_label is not None and any(s.role == "rep" for _, s in words if s.speaker == rep_label)
                          and not any(s.role == "rep" for _, s in words if s.speaker != rep_label)),
        "role_confidence": confidence,
        "transcribe_s": timings.get("transcribe"),
        "speakers_s": timings.get("speakers"),
        "time_share": round(timings["speakers"] / timings["transcribe"], 4) if timings.get("transcribe") else None,
    }


def _one_voice() -> dict:
    """Each side of two distinct-voice calls alone: its own channel, its own words."""
    from callscan.ingest.audio import decode

    rows = []
    for path in [p for p in sample_audio() if json.loads((TRUTH / f"{p.stem}.json").read_text())["channels"] == "stereo"][:2]:
        audio = decode(path)
        turns = json.loads((TRUTH / f"{path.stem}.json").read_text())["turns"]
        for side, channel in (("rep", 0), ("customer", 1)):
            transcript = transcribe_audio(replace(audio, channels=[audio.channels[channel]], layout="mono"), OPTIONS, THREADS)
            found = {s.speaker for s in transcript.segments}
            rows.append({"call": f"{path.stem} ({side} only)", "speakers_found": len(found),
                         "seconds": round(sum(t["end"] - t["start"] for t in turns if t["speaker"] == side), 1)})
    return {"stayed_one": f"{sum(r['speakers_found'] == 1 for r in rows)}/{len(rows)}", "calls": rows}


def _three_voices() -> dict:
    """One call, three voices: the rep (kal) and two customers (slt and ked) taking turns."""
    return _summary([_mono_case(three_voice_call())])


def _echo() -> dict:
    """Dual-channel calls where each side leaks into the other channel at -12 dB."""
    from callscan.ingest.audio import decode

    rows = []
    stereo = [p for p in sample_audio() if json.loads((TRUTH / f"{p.stem}.json").read_text())["channels"] == "stereo"]
    for path in stereo[:2]:
        audio = decode(path)
        left, right = audio.samples(0).astype(np.float64), audio.samples(1).astype(np.float64)
        leaky = [_as_mono(np.round(left + ECHO_GAIN * right)).channels[0], _as_mono(np.round(right + ECHO_GAIN * left)).channels[0]]
        audio = replace(audio, channels=leaky)
        with mock.patch("callscan.transcribe.separate_speakers", lambda _audio, segments: segments):
            raw = transcribe_audio(audio, OPTIONS, THREADS)
        started = time.perf_counter()
        kept = separate_speakers(audio, copy.deepcopy(raw.segments))
        seconds = time.perf_counter() - started
        turns = json.loads((TRUTH / f"{path.stem}.json").read_text())["turns"]
        before, after = _echo_counts(raw.segments, turns), _echo_counts(kept, turns)
        rows.append({"call": path.stem, "words_before": before[0], "echo_words_before": before[1],
                     "words_after": after[0], "echo_words_after": after[1],
                     # > 0: words Whisper heard only as the echo, moved to their speaker's channel
                     "true_words_change": (after[0] - after[1]) - (before[0] - before[1]),
                     "dedupe_s": round(seconds, 3), "transcribe_s": raw.timings["transcribe"]})
    return {"calls": rows, "echo_removed": f"{sum(r['echo_words_before'] - r['echo_words_after'] for r in rows)}"
                                          f"/{sum(r['echo_words_before'] for r in rows)}",
            "true_words_change": sum(r["true_words_change"] for r in rows)}


def _stereo_roles() -> dict:
    """Dual-channel sample calls: channel roles, and no false alarm from the text cues."""
    rows = []
    for path in sample_audio():
        if json.loads((TRUTH / f"{path.stem}.json").read_text())["channels"] != "stereo":
            continue
        transcript = transcribe_file(path, OPTIONS, THREADS)
        source = Source(path.name, path.name, "audio", "0" * 16, 0, rep=_manifest_rep(path.name))
        confidence = assign_roles(transcript, source, "left")
        with _quiet("callscan.speakers"):  # the warning is the point of the misconfigured run
            swapped = assign_roles(copy.deepcopy(transcript), source, "right")
        rows.append({"call": path.stem, "confidence": confidence, "confidence_if_misconfigured": swapped,
                     "time_share": round(transcript.timings["speakers"] / transcript.timings["transcribe"], 4)})
    right = sum(r["confidence"] == 1.0 for r in rows)
    return {"calls": len(rows), "right": right, "flagged_when_misconfigured": sum(r["confidence_if_misconfigured"] < 0.6 for r in rows),
            "rows": rows}


def _transcripts() -> dict:
    from callscan.ingest.transcripts import read_transcript

    path = SAMPLES / "2026-11-12-brightpath-zoom.vtt"
    rows = {}
    for label, rep in (("with manifest rep", _manifest_rep(path.name)), ("without rep name", None)):
        transcript = read_transcript(path)
        confidence = assign_roles(transcript, Source(path.name, path.name, "transcript", "0" * 16, 0, rep=rep))
        reps = sorted({s.speaker for s in transcript.segments if s.role == "rep"})
        rows[label] = {"rep": reps, "right": reps == ["Marcus Bell"], "confidence": confidence}
    return rows


def _quiet(name: str):
    import contextlib
    import logging

    @contextlib.contextmanager
    def quiet():
        logger = logging.getLogger(name)
        level = logger.level
        logger.setLevel(logging.ERROR)
        try:
            yield
        finally:
            logger.setLevel(level)

    return quiet()


# -- scoring ------------------------------------------------------------------------------------

def _truth_at(turns: list[dict], t: float) -> str:
    for turn in turns:
        if turn["start"] <= t <= turn["end"]:
            return turn["speaker"]
    return min(turns, key=lambda turn: min(abs(turn["start"] - t), abs(turn["end"] - t)))["speaker"]


def _mapped_accuracy(labels: list[str], truth: list[str]) -> float:
    """Share of words right when each label is matched to at most one true speaker."""
    from scipy.optimize import linear_sum_assignment

    if not labels:
        return 0.0
    found, real = sorted(set(labels)), sorted(set(truth))
    table = np.zeros((len(found), len(real)))
    for label, who in zip(labels, truth):
        table[found.index(label), real.index(who)] += 1
    rows, cols = linear_sum_assignment(-table)
    return float(table[rows, cols].sum() / len(labels))


def _majority(values: list[str]) -> str | None:
    return max(set(values), key=values.count) if values else None


def _echo_counts(segments: list[Segment], turns: list[dict]) -> tuple[int, int]:
    """(words, words on the wrong channel for who was speaking)."""
    side = {0: "rep", 1: "customer"}
    words = [(w, s.channel) for s in segments for w in s.words]
    wrong = sum(_truth_at(turns, (w.start + w.end) / 2) != side[c] for w, c in words)
    return len(words), wrong


def _summary(rows: list[dict]) -> dict:
    words = sum(r["words"] for r in rows)
    return {
        "speaker_accuracy": round(sum(r["speaker_accuracy"] * r["words"] for r in rows) / words, 4),
        "worst_call_speaker_accuracy": min(r["speaker_accuracy"] for r in rows),
        "role_accuracy": round(sum(r["role_accuracy"] * r["words"] for r in rows) / words, 4),
        "rep_right": f"{sum(r['rep_right'] for r in rows)}/{len(rows)}",
        "min_role_confidence": min((r["role_confidence"] or 0.0) for r in rows),
        "separation_share_of_transcription": _share(rows),
        "calls": rows,
    }


def _share(rows: list[dict]) -> float:
    return round(sum(r["speakers_s"] for r in rows) / sum(r["transcribe_s"] for r in rows), 4)


if __name__ == "__main__":
    sys.exit(main())
