#!/usr/bin/env python3
"""Rebuild the callscan sample calls and the tiny test clips.

    python sample_calls/make_samples.py            # everything
    python sample_calls/make_samples.py --calls    # only sample_calls/ (audio, truth/, calls.csv)
    python sample_calls/make_samples.py --tests    # only tests/data/audio/
    python sample_calls/make_samples.py --check    # only list and verify what is on disk

Needs Festival with the kal_diphone and cmu_us_slt_arctic_hts voices (else espeak-ng) on PATH, numpy and PyAV (`pip install av`). No ffmpeg binary is used:
every file is encoded in-process with PyAV.

Each line of sample_calls/scripts/<stem>.txt is one turn, "REP: ..." or "CUSTOMER: ...".
Every turn is synthesised with espeak-ng, resampled to 16 kHz, trimmed, and laid on a
timeline with pseudo-random gaps of 0.3-0.9 s (fixed seed, so the output is reproducible
for a given espeak-ng version). Stereo calls put the rep on the LEFT channel and the
customer on the RIGHT channel; mono calls are a plain mix. A low noise floor is added so
that silence is never digital zero. Ground truth (real turn times on the timeline) goes to
sample_calls/truth/<stem>.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import shutil
import subprocess
import sys
import tempfile
import wave
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

HERE = Path(__file__).resolve().parent  # .../sample_calls
REPO = HERE.parent
SCRIPTS = HERE / "scripts"
TRUTH = HERE / "truth"
TEST_AUDIO = REPO / "tests" / "data" / "audio"

SR = 16000
SEED = 20261006
GAP_RANGE = (0.3, 0.9)  # seconds of silence between turns
LEAD_IN = 0.6  # seconds before the first turn
TAIL = 0.8  # seconds after the last turn
NOISE_RMS = 0.0015  # ~ -56 dBFS noise floor (so silence is not digital zero)
PEAK = {"rep": 0.55, "customer": 0.5}

# Festival voices (Debian: festival festvox-kallpc16k festvox-us-slt-hts): a male US
# diphone voice for the rep and a female US HTS voice for the customer. On the same
# sentences tiny.en made far fewer errors on these than on espeak-ng's voices, so the
# samples test callscan rather than the synthesiser. espeak-ng remains as a fallback.
REP_VOICE = {"engine": "festival", "voice": "kal_diphone",
             "fallback": {"voice": "en-us+m3", "speed": 150, "pitch": 50}}
CUSTOMER_VOICES = {
    "f2": {"engine": "festival", "voice": "cmu_us_slt_arctic_hts",
           "fallback": {"voice": "en-gb+f2", "speed": 145, "pitch": 60}},
    "f4": {"engine": "festival", "voice": "cmu_us_slt_arctic_hts",
           "fallback": {"voice": "en-gb+f4", "speed": 145, "pitch": 68}},
}

# stem, container, channels, customer voice, rep, account, stage, campaign
CALLS = [
    ("2026-10-06-bayside-freight-discovery", "mp3", "stereo", "f4",
     "Dana Whitfield", "Bayside Freight", "discovery", "LinkedIn outbound Q4"),
    ("2026-10-09-copperline-bakeries-demo", "m4a", "mono", "f2",
     "Marcus Bell", "Copperline Bakeries", "demo", "Payroll webinar Sept"),
    ("2026-10-14-okafor-residence-discovery", "ogg", "stereo", "f4",
     "Priya Natarajan", "Okafor Residence", "discovery", "Neighbor referral"),
    ("2026-10-20-maple-street-cafe-renewal", "wav", "mono", "f2",
     "Dana Whitfield", "Maple Street Cafe", "renewal", "Renewals Q4"),
    ("2026-10-23-delta-precision-demo", "m4a", "stereo", "f2",
     "Marcus Bell", "Delta Precision Parts", "demo", "G2 inbound"),
    ("2026-10-28-lumen-skincare-negotiation", "ogg", "mono", "f4",
     "Priya Natarajan", "Lumen Skincare", "negotiation", "Series A accounts"),
    ("2026-11-03-riverside-family-clinic-discovery", "mp3", "stereo", "f4",
     "Dana Whitfield", "Riverside Family Clinic", "discovery", "Clinic Ops podcast"),
    ("2026-11-06-oakridge-storage-negotiation", "mp3", "mono", "f2",
     "Marcus Bell", "Oakridge Self Storage", "negotiation", "Inbound web form"),
    ("2026-11-10-corvid-analytics-demo", "ogg", "stereo", "f2",
     "Priya Natarajan", "Corvid Analytics", "demo", "G2 inbound"),
]
# Transcript-only call (hand-written WebVTT, not generated here); listed in calls.csv.
EXTRA_CSV_ROWS = [
    ("2026-11-12-brightpath-zoom.vtt", "2026-11-12", "Marcus Bell",
     "BrightPath Home Care", "negotiation", "Payroll webinar Sept"),
]

# container -> (PyAV muxer, encoder, bit rate for mono, bit rate for stereo)
FORMATS = {
    "wav": ("wav", "pcm_s16le", None, None),
    "mp3": ("mp3", "libmp3lame", 32000, 40000),
    "ogg": ("ogg", "libopus", 32000, 40000),
    "m4a": ("ipod", "aac", 32000, 40000),
}

# Test clips: same pipeline, tiny files, a higher bit rate so decode tests are not
# fighting codec artefacts.
TEST_BIT_RATE = {"wav": None, "mp3": 64000, "m4a": 64000, "ogg": 48000}
TEST_MONO_TEXT = "The price is too high for our budget this quarter."
TEST_STEREO_TURNS = [
    ("rep", "Thanks for joining, how are things at Acme?"),
    ("customer", "Busy, but honestly we are happy with our spreadsheets."),
]


# --------------------------------------------------------------------------- speech

def speakable(text: str) -> str:
    """Rewrite text so espeak-ng reads it naturally ("$1,400" -> "1,400 dollars").

    Only the audio uses this; scripts and ground truth keep the written form."""
    def money(unit):
        return lambda m: f"{m.group(1)}{m.group(2) or ''} {unit}"
    num = r"(\d[\d,]*(?:\.\d+)?)(\s(?:million|thousand|billion))?"
    text = re.sub(r"\$" + num, money("dollars"), text)
    text = re.sub("\u20ac" + num, money("euros"), text)
    return text


def synthesise(text: str, voice: dict) -> np.ndarray:
    """One turn with Festival when it is installed, else espeak-ng."""
    if voice.get("engine") == "festival" and shutil.which("text2wave"):
        return festival(text, voice["voice"])
    return espeak(text, voice.get("fallback", voice))


def festival(text: str, voice: str) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "turn.txt", Path(tmp) / "turn.wav"
        src.write_text(speakable(text), encoding="utf-8")
        subprocess.run(["text2wave", "-eval", f"(voice_{voice})", "-o", str(out), str(src)],
                       check=True, stderr=subprocess.DEVNULL)
        return _read_wav(out)


def _read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2
        rate = w.getframerate()
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return trim(resample(pcm, rate).astype(np.float32) / 32768.0)


def espeak(text: str, voice: dict) -> np.ndarray:
    """Synthesise one turn; returns float32 mono samples at SR, edges trimmed."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        sys.exit("espeak-ng not found on PATH (needed only to regenerate the audio)")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "turn.wav"
        subprocess.run(
            [exe, "-v", voice["voice"], "-s", str(voice["speed"]), "-p", str(voice["pitch"]),
             "-w", str(out), speakable(text)],
            check=True,
        )
        with wave.open(str(out), "rb") as w:
            assert w.getnchannels() == 1 and w.getsampwidth() == 2
            rate = w.getframerate()
            pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    x = resample(pcm, rate).astype(np.float32) / 32768.0
    return trim(x)


def resample(pcm: np.ndarray, rate: int) -> np.ndarray:
    """int16 mono at `rate` -> int16 mono at SR, using PyAV's (libswresample) resampler."""
    if rate == SR:
        return pcm
    frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = rate
    rs = av.AudioResampler(format="s16", layout="mono", rate=SR)
    chunks = [f.to_ndarray().reshape(-1) for f in rs.resample(frame)]
    chunks += [f.to_ndarray().reshape(-1) for f in rs.resample(None)]
    return np.concatenate(chunks)


def trim(x: np.ndarray, thresh: float = 0.01, pad: float = 0.02) -> np.ndarray:
    loud = np.flatnonzero(np.abs(x) > thresh)
    if loud.size == 0:
        return x
    p = int(pad * SR)
    return x[max(0, loud[0] - p): loud[-1] + p + 1]


def normalise(x: np.ndarray, peak: float) -> np.ndarray:
    m = float(np.max(np.abs(x))) or 1.0
    return x * (peak / m)


# --------------------------------------------------------------------------- timeline

def read_script(path: Path) -> list[tuple[str, str]]:
    turns = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        who, sep, text = line.partition(":")
        who = who.strip().lower()
        if not sep or who not in ("rep", "customer") or not text.strip():
            raise ValueError(f"{path}:{n}: expected 'REP: text' or 'CUSTOMER: text'")
        turns.append((who, text.strip()))
    return turns


def build_timeline(turns, customer_voice: dict, rng: np.random.Generator,
                   lead_in=LEAD_IN, tail=TAIL):
    """Returns (audio[2, n] with rep on row 0 and customer on row 1, truth turns)."""
    clips, truth = [], []
    t = lead_in
    for i, (who, text) in enumerate(turns):
        voice = REP_VOICE if who == "rep" else customer_voice
        x = normalise(synthesise(text, voice), PEAK[who])
        start = int(round(t * SR))
        clips.append((who, start, x))
        truth.append({"speaker": who, "start": round(start / SR, 3),
                      "end": round((start + len(x)) / SR, 3), "text": text})
        t = (start + len(x)) / SR
        if i < len(turns) - 1:
            t += float(rng.uniform(*GAP_RANGE))
    n = int(round((t + tail) * SR))
    audio = np.zeros((2, n), dtype=np.float32)
    for who, start, x in clips:
        audio[0 if who == "rep" else 1, start:start + len(x)] += x
    return audio, truth


def finish(audio: np.ndarray, channels: str, rng: np.random.Generator) -> np.ndarray:
    """Stereo: keep the two tracks; mono: mix them. Then add the noise floor."""
    out = audio if channels == "stereo" else audio.sum(axis=0, keepdims=True)
    out = out + rng.normal(0.0, NOISE_RMS, size=out.shape).astype(np.float32)
    return np.clip(out, -1.0, 1.0)


# --------------------------------------------------------------------------- encoding

def encode(path: Path, audio: np.ndarray, ext: str, bit_rate: int | None = None) -> None:
    """Encode float32 audio[channels, n] at SR with PyAV (no ffmpeg binary)."""
    muxer, codec, br_mono, br_stereo = FORMATS[ext]
    nch = audio.shape[0]
    layout = "stereo" if nch == 2 else "mono"
    pcm = (np.clip(audio, -1, 1) * 32767).round().astype("<i2")
    interleaved = pcm.T.reshape(1, -1)  # packed s16
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format=muxer,
                 options={"fflags": "+bitexact"}) as out:
        stream = out.add_stream(codec, rate=SR, layout=layout)
        bit_rate = bit_rate or (br_stereo if nch == 2 else br_mono)
        if bit_rate and codec != "pcm_s16le":
            stream.bit_rate = bit_rate
        stream.codec_context.options = {"flags": "+bitexact"}
        step = 4096
        for i in range(0, pcm.shape[1], step):
            chunk = interleaved[:, i * nch:(i + step) * nch]
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format="s16",
                                               layout=layout)
            frame.sample_rate = SR
            frame.pts = i
            frame.time_base = Fraction(1, SR)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def write_json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------- builders

def build_calls() -> None:
    for idx, (stem, ext, channels, cvoice, *_rest) in enumerate(CALLS):
        rng = np.random.default_rng([SEED, idx])
        turns = read_script(SCRIPTS / f"{stem}.txt")
        audio, truth = build_timeline(turns, CUSTOMER_VOICES[cvoice], rng)
        audio = finish(audio, channels, rng)
        name = f"{stem}.{ext}"
        encode(HERE / name, audio, ext)
        write_json(TRUTH / f"{stem}.json", {
            "file": name,
            "channels": channels,
            "rep_channel": "left" if channels == "stereo" else None,
            "sample_rate": SR,
            "duration": round(audio.shape[1] / SR, 3),
            "turns": truth,
        })
        print(f"built {name}")
    with open(HERE / "calls.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["file", "date", "rep", "account", "stage", "campaign"])
        rows = [(f"{stem}.{ext}", stem[:10], rep, account, stage, campaign)
                for stem, ext, _ch, _v, rep, account, stage, campaign in CALLS]
        for row in sorted(rows + EXTRA_CSV_ROWS):
            w.writerow(row)
    print("built calls.csv")


def build_tests() -> None:
    rng = np.random.default_rng([SEED, 1000])
    clips = []

    # short_mono.*: one customer sentence. 16-bit 16 kHz mono WAV is 32 KB/s, so the clip is
    # spoken a little faster and kept to ~3 s to stay under 100 KB.
    voice = CUSTOMER_VOICES["f2"]
    audio, truth = build_timeline([("customer", TEST_MONO_TEXT)], voice, rng,
                                  lead_in=0.15, tail=0.15)
    mono = finish(audio, "mono", rng)
    segs = [dict(t, channel="mono") for t in truth]
    for ext in ("wav", "mp3", "m4a"):
        name = f"short_mono.{ext}"
        encode(TEST_AUDIO / name, mono, ext, TEST_BIT_RATE[ext])
        clips.append({"file": name, "format": ext, "channels": "mono", "sample_rate": SR,
                      "decoded_sample_rate": SR,
                      "duration": round(mono.shape[1] / SR, 3), "speakers": {"mono": "customer"},
                      "segments": segs})

    # short_stereo.ogg: rep on the left, then customer on the right.
    audio, truth = build_timeline(TEST_STEREO_TURNS, CUSTOMER_VOICES["f2"], rng,
                                  lead_in=0.4, tail=0.5)
    stereo = finish(audio, "stereo", rng)
    name = "short_stereo.ogg"
    encode(TEST_AUDIO / name, stereo, "ogg", TEST_BIT_RATE["ogg"])
    clips.append({"file": name, "format": "ogg", "channels": "stereo", "sample_rate": SR,
                  "decoded_sample_rate": 48000,  # Opus always decodes at 48 kHz
                  "duration": round(stereo.shape[1] / SR, 3), "rep_channel": "left",
                  "speakers": {"left": "rep", "right": "customer"},
                  "segments": [dict(t, channel="left" if t["speaker"] == "rep" else "right")
                               for t in truth]})
    write_json(TEST_AUDIO / "clips.json", {
        "note": "Generated by sample_calls/make_samples.py --tests. Audio was synthesised at "
                "16 kHz; Opus (.ogg) decodes at 48 kHz. Times are seconds on the synthesis "
                "timeline; lossy decoders may shift them (and the end) by a few tens of ms.",
        "clips": clips,
    })
    print("built tests/data/audio")


# --------------------------------------------------------------------------- check

def probe(path: Path) -> dict:
    with av.open(str(path)) as c:
        s = c.streams.audio[0]
        n, ch, rate = 0, s.codec_context.channels, s.codec_context.sample_rate
        peak = [0.0] * ch
        for fr in c.decode(s):
            a = fr.to_ndarray()
            if a.dtype.kind == "i":
                a = a / 32768.0
            a = a.reshape(ch, -1) if fr.format.is_planar else a.reshape(-1, ch).T
            n += a.shape[1]
            rate = fr.sample_rate
            peak = [max(p, float(np.max(np.abs(a[i])))) for i, p in enumerate(peak)]
        return {"file": path.relative_to(REPO).as_posix(), "format": c.format.name,
                "codec": s.codec_context.name, "channels": ch, "rate": rate,
                "duration": round(n / rate, 2), "kb": round(path.stat().st_size / 1024, 1),
                "peak": [round(p, 2) for p in peak]}


def check(calls: bool = True, tests: bool = True) -> int:
    bad = 0
    rows = []
    for stem, ext, channels, *_ in (CALLS if calls else []):
        if not (HERE / f"{stem}.{ext}").exists():
            print(f"MISSING sample_calls/{stem}.{ext}")
            bad += 1
            continue
        info = probe(HERE / f"{stem}.{ext}")
        truth = json.loads((TRUTH / f"{stem}.json").read_text())
        want = 2 if channels == "stereo" else 1
        ok = info["channels"] == want and abs(info["duration"] - truth["duration"]) < 0.15 \
            and truth["turns"][-1]["end"] < info["duration"]
        bad += not ok
        rows.append((info, ok))
    for f in sorted(TEST_AUDIO.glob("short_*")) if tests else []:
        info = probe(f)
        ok = info["rate"] == (48000 if f.suffix == ".ogg" else SR) and info["channels"] == (2 if "stereo" in f.name else 1) \
            and f.stat().st_size < 100 * 1024
        bad += not ok
        rows.append((info, ok))
    for info, ok in rows:
        print(f"{'ok ' if ok else 'BAD'} {info['file']:<62} {info['duration']:7.2f}s "
              f"{info['channels']}ch {info['rate']}Hz {info['format']}/{info['codec']} "
              f"{info['kb']:7.1f} KB")
    return bad


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", action="store_true", help="only rebuild sample_calls/")
    ap.add_argument("--tests", action="store_true", help="only rebuild tests/data/audio/")
    ap.add_argument("--check", action="store_true", help="only verify the files on disk")
    args = ap.parse_args()
    both = not (args.calls or args.tests)
    if not args.check:
        if args.calls or both:
            build_calls()
        if args.tests or both:
            build_tests()
    sys.exit(1 if check(args.calls or both, args.tests or both) else 0)


if __name__ == "__main__":
    main()
