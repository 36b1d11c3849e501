"""End-to-end `callscan scan` throughput against raw faster-whisper, side by side, on sample_calls/.

    python bench/throughput.py            # writes bench/results/throughput.json too

Measures, each as a fresh process (model loading included, as a user would see it):
- raw faster-whisper (same embedded model and settings, 2 threads) on the mono files, and on the
  dual-channel files as faster-whisper reads them (mixed down to mono);
- `callscan scan --jobs 1` on the same mono files and on the same dual-channel files (which it
  transcribes channel by channel, skipping each channel's silence);
- `callscan scan` over all sample audio with --jobs 1 and --jobs 2;
- a second run with nothing new (everything skipped);
- peak RSS per transcription worker (each worker records its own).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import REPO, sample_audio

RAW = """
import sys, time
from faster_whisper import WhisperModel
from callscan.transcribe import embedded_whisper_path
model = WhisperModel(str(embedded_whisper_path()), device="cpu", compute_type="int8", cpu_threads=2)
audio = 0.0
for path in sys.argv[1:]:
    segments, info = model.transcribe(path, language="en", beam_size=1, vad_filter=True,
                                      word_timestamps=True, condition_on_previous_text=False)
    list(segments)
    audio += info.duration
print(audio)
"""


def timed(args: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, cwd=REPO)
    if done.returncode not in (0, 1):
        sys.exit(f"failed: {' '.join(args)}\n{done.stderr}")
    return time.perf_counter() - started, done.stdout


def raw(files: list[Path]) -> dict:
    wall, out = timed([sys.executable, "-c", RAW, *map(str, files)])
    audio = float(out.strip().splitlines()[-1])
    return {"audio_s": round(audio, 1), "wall_s": round(wall, 1), "x_real_time": round(audio / wall, 1)}


def scan(inputs: list[Path], out: Path, jobs: int) -> dict:
    wall, _ = timed([sys.executable, "-m", "callscan", "scan", *map(str, inputs), "-o", str(out), "-s", "--jobs", str(jobs)])
    calls = [json.loads(p.read_text()) for p in (out / "calls").glob("*.json")]
    audio = sum(c["duration"] for c in calls if c["kind"] == "audio")
    return {"audio_s": round(audio, 1), "wall_s": round(wall, 1), "x_real_time": round(audio / wall, 1)}


def peak_rss(out: Path) -> float:
    import sqlite3

    db = sqlite3.connect(out / "callscan.db")
    values = [json.loads(row[0]).get("peak_rss_mb", 0) for row in db.execute("SELECT timings_json FROM calls")]
    return max(values)


def main() -> None:
    files = sample_audio()
    mono = [p for p in files if _channels(p) == 1]
    stereo = [p for p in files if _channels(p) == 2]
    tmp = Path(tempfile.mkdtemp(prefix="callscan-bench-"))
    results = {}
    try:
        results["raw_mono"] = raw(mono)
        results["scan_mono_jobs1"] = scan(mono, tmp / "m", 1)
        results["raw_stereo_downmix"] = raw(stereo)
        results["scan_stereo_jobs1"] = scan(stereo, tmp / "s", 1)
        results["scan_all_jobs1"] = scan(files, tmp / "a1", 1)
        results["scan_all_jobs2"] = scan(files, tmp / "a2", 2)
        results["rerun_nothing_new"] = scan(files, tmp / "a2", 2)
        results["peak_rss_mb_per_worker_jobs2"] = peak_rss(tmp / "a2")
        results["ratios"] = {
            "scan_vs_raw_mono": round(results["scan_mono_jobs1"]["x_real_time"] / results["raw_mono"]["x_real_time"], 3),
            "scan_stereo_vs_raw_downmix": round(
                results["scan_stereo_jobs1"]["x_real_time"] / results["raw_stereo_downmix"]["x_real_time"], 3),
            "jobs2_vs_jobs1": round(results["scan_all_jobs2"]["x_real_time"] / results["scan_all_jobs1"]["x_real_time"], 3),
            "rerun_share_of_first": round(results["rerun_nothing_new"]["wall_s"] / results["scan_all_jobs2"]["wall_s"], 3),
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    (REPO / "bench" / "results").mkdir(exist_ok=True)
    (REPO / "bench" / "results" / "throughput.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


def _channels(path: Path) -> int:
    import av

    with av.open(str(path)) as container:
        return container.streams.audio[0].codec_context.channels


if __name__ == "__main__":
    main()
