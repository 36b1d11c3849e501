"""Mono test material with a known answer for speaker separation.

- ``mono_mixes()``: each dual-channel sample call, its two channels summed into one. The
  channels are the truth (the rep is on the left), kept as the call's truth turns.
- ``similar_voice_calls()``: sample scripts re-synthesised with two male Festival voices
  (kal_diphone as the rep, ked_diphone as the customer) and mixed to mono, with the generator
  of ``sample_calls/make_samples.py`` (imported, not changed).

- ``three_voice_call()``: one script whose customer turns are shared by two voices.

All give ``MonoCase``s: a ``DecodedAudio`` that callscan can transcribe as it is, plus the
truth turns ``[{speaker: rep|customer, start, end, text}]``.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from common import SAMPLES, TRUTH, sample_audio

SIMILAR_CUSTOMER_VOICE = {"engine": "festival", "voice": "ked_diphone",
                          "fallback": {"voice": "en-us+m1", "speed": 150, "pitch": 40}}
SIMILAR_STEMS = (
    "2026-10-06-bayside-freight-discovery",
    "2026-10-20-maple-street-cafe-renewal",
    "2026-11-10-corvid-analytics-demo",
)


@dataclass
class MonoCase:
    name: str
    audio: object  # callscan.ingest.audio.DecodedAudio, layout "mono"
    turns: list[dict]
    rep: str | None = None  # the manifest's rep name for this call


def mono_mixes() -> list[MonoCase]:
    """The dual-channel sample calls, mixed down to one channel."""
    from callscan.ingest.audio import decode

    cases = []
    for path in sample_audio():
        truth = json.loads((TRUTH / f"{path.stem}.json").read_text())
        if truth["channels"] != "stereo":
            continue
        audio = decode(path)
        mixed = audio.samples(0).astype(np.int32) + audio.samples(1).astype(np.int32)
        cases.append(MonoCase(path.stem, _as_mono(mixed), truth["turns"], _manifest_rep(path.name)))
    return cases


def similar_voice_calls(stems=SIMILAR_STEMS) -> list[MonoCase]:
    """Sample scripts spoken by two male voices, mixed to mono (Festival, ~20 s a call)."""
    samples = _make_samples()
    cases = []
    for index, stem in enumerate(stems):
        rng = np.random.default_rng([samples.SEED, 500 + index])
        turns = samples.read_script(samples.SCRIPTS / f"{stem}.txt")
        tracks, truth = samples.build_timeline(turns, SIMILAR_CUSTOMER_VOICE, rng)
        mixed = samples.finish(tracks, "mono", rng)[0]
        pcm = np.round(np.clip(mixed, -1, 1) * 32767).astype(np.int32)
        cases.append(MonoCase(f"{stem} (kal+ked)", _as_mono(pcm), truth, _manifest_rep(stem, prefix=True)))
    return cases


def three_voice_call(stem: str = "2026-10-23-delta-precision-demo") -> MonoCase:
    """A sample script with the customer's turns shared by two people (slt, then ked, in
    turn) besides the rep (kal): three voices on one mono recording."""
    samples = _make_samples()
    rng = np.random.default_rng([samples.SEED, 900])
    voices = {"rep": samples.REP_VOICE, "customer": samples.CUSTOMER_VOICES["f2"], "customer 2": SIMILAR_CUSTOMER_VOICE}
    clips, truth, t, customers = [], [], samples.LEAD_IN, 0
    for who, text in samples.read_script(samples.SCRIPTS / f"{stem}.txt"):
        if who == "customer":
            who = "customer" if customers % 2 == 0 else "customer 2"
            customers += 1
        x = samples.normalise(samples.synthesise(text, voices[who]), samples.PEAK["rep" if who == "rep" else "customer"])
        start = int(round(t * samples.SR))
        clips.append((start, x))
        truth.append({"speaker": who, "start": round(start / samples.SR, 3),
                      "end": round((start + len(x)) / samples.SR, 3), "text": text})
        t = (start + len(x)) / samples.SR + float(rng.uniform(*samples.GAP_RANGE))
    track = np.zeros((1, int(round((t + samples.TAIL) * samples.SR))), dtype=np.float32)
    for start, x in clips:
        track[0, start : start + len(x)] += x
    mixed = samples.finish(track, "mono", rng)[0]
    pcm = np.round(np.clip(mixed, -1, 1) * 32767).astype(np.int32)
    return MonoCase(f"{stem} (kal+slt+ked)", _as_mono(pcm), truth, _manifest_rep(stem, prefix=True))


def _as_mono(samples: np.ndarray):
    from callscan.ingest.audio import SAMPLE_RATE, DecodedAudio, _pydub

    pcm = np.clip(samples, -32768, 32767).astype(np.int16)
    segment = _pydub()(data=pcm.tobytes(), sample_width=2, frame_rate=SAMPLE_RATE, channels=1)
    return DecodedAudio([segment], "mono", len(pcm) / SAMPLE_RATE)


def _manifest_rep(name: str, prefix: bool = False) -> str | None:
    import csv

    with open(SAMPLES / "calls.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["file"] == name or (prefix and row["file"].rsplit(".", 1)[0] == name):
                return row["rep"] or None
    return None


def _make_samples():
    spec = importlib.util.spec_from_file_location("make_samples", SAMPLES / "make_samples.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_wav(path: Path, case: MonoCase) -> Path:
    """The case's audio as a 16 kHz mono wav (to feed ``callscan scan`` by hand)."""
    case.audio.channels[0].export(str(path), format="wav")
    return path


# The small clip tests/test_speakers.py transcribes end to end: two voices, four turns.
TEST_CLIP_TURNS = [
    ("rep", "Hi, this is Dana from FleetPilot. Do you have a minute?"),
    ("customer", "Sure, but honestly we already use spreadsheets."),
    ("rep", "I can show you our platform next week."),
    ("customer", "Okay. Send me an invite for Tuesday."),
]


def write_test_clip(folder: Path) -> Path:
    """tests/data/speakers/two_voices.ogg (Opus, ~40 KB) and its truth, two_voices.json."""
    samples = _make_samples()
    rng = np.random.default_rng([samples.SEED, 2000])
    tracks, truth = samples.build_timeline(TEST_CLIP_TURNS, samples.CUSTOMER_VOICES["f2"], rng,
                                           lead_in=0.3, tail=0.4)
    mixed = samples.finish(tracks, "mono", rng)
    folder.mkdir(parents=True, exist_ok=True)
    clip = folder / "two_voices.ogg"
    samples.encode(clip, mixed, "ogg", 24000)
    (folder / "two_voices.json").write_text(json.dumps(
        {"note": "Generated by `python bench/mono_mix.py --test-clip`: rep kal_diphone, customer "
                 "cmu_us_slt_arctic_hts, mixed to mono.", "rep": "Dana Whitfield", "turns": truth}, indent=2) + "\n")
    return clip


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Build speaker-separation test material.")
    parser.add_argument("--test-clip", action="store_true", help="rebuild tests/data/speakers/two_voices.*")
    if parser.parse_args().test_clip:
        print(write_test_clip(Path(__file__).resolve().parent.parent / "tests" / "data" / "speakers"))
