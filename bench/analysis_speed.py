"""How fast analysis runs next to transcription (no Whisper involved).

    python bench/analysis_speed.py STORE.db      # a store made by `callscan scan sample_calls`

1. A 30-minute call, made by joining the sample calls' segments end to end: time to analyse it.
2. 1,000 stored calls, made by copying the sample calls under new ids: time to re-analyse all
   of them from the store (load, analyse, save), as a scan does after the model changes.
"""

from __future__ import annotations

import copy
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from callscan.analyze import analysis_key, load_analyzer
from callscan.config import ScanOptions, default_jobs, models_dir
from callscan.pipeline import reanalyse
from callscan.store import Store


class _Ready:
    """The pipeline's lazy analyzer, already loaded."""

    def __init__(self, analyzer):
        self.analyzer = analyzer

    def get(self):
        return self.analyzer


def thirty_minute_call(calls):
    base = copy.deepcopy(calls[0])
    segments, offset = [], 0.0
    while offset < 1800:
        for call in calls:
            for seg in call.transcript.segments:
                seg = copy.deepcopy(seg)
                seg.start, seg.end = seg.start + offset, seg.end + offset
                seg.role = seg.role if seg.role != "unknown" else "customer"
                segments.append(seg)
            offset += call.transcript.duration
            if offset >= 1800:
                break
    base.transcript.segments, base.transcript.duration = segments, offset
    return base


def time_reanalysis(calls, analyzer, jobs: int) -> dict:
    """Copy the sample calls into a 1,000-call store marked stale, then time re-analysing it."""
    tmp = Path(tempfile.mkdtemp(prefix="callscan-analysis-"))
    try:
        with Store(tmp / "big.db") as big:
            for i in range(1000):
                call = copy.deepcopy(calls[i % len(calls)])
                call.id = f"{call.id}-{i}"
                call.source.content_hash = f"{i:06d}{call.source.content_hash[6:]}"
                big.save_call(call, "stale")
            options = ScanOptions(out_dir=tmp, db_path=tmp / "big.db", jobs=jobs)
            key = analysis_key(models_dir(), options.role_settings)
            started = time.perf_counter()
            # The same code path a scan takes when the model or taxonomy changed.
            done = sum(1 for _ in reanalyse(big, big.call_ids(), options, _Ready(analyzer), key))
            seconds = time.perf_counter() - started
            assert done == 1000
            segments = big.db.execute("SELECT count(*) FROM segments").fetchone()[0]
            stale = big.db.execute("SELECT count(*) FROM calls WHERE analysis_key != ?", (key,)).fetchone()[0]
            assert stale == 0, stale
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {"jobs": jobs, "segments": segments, "seconds": round(seconds, 1)}


def main(db: Path) -> None:
    analyzer = load_analyzer(models_dir())
    with Store(db) as store:
        calls = list(store.iter_calls())
    analyzer.analyze(copy.deepcopy(calls[0]))  # warm up
    long_call = thirty_minute_call(calls)
    # Single timings on a shared 2-core VM vary by ±15%: report the median of 7 runs.
    runs = []
    for _ in range(7):
        call = copy.deepcopy(long_call)
        started = time.perf_counter()
        analyzer.analyze(call)
        runs.append(time.perf_counter() - started)
    words = sum(len(s.text.split()) for s in long_call.transcript.segments)

    result = {
        "thirty_minute_call": {"audio_minutes": round(long_call.transcript.duration / 60, 1), "words": words,
                               "segments": len(long_call.transcript.segments),
                               "seconds_median": round(statistics.median(runs), 3),
                               "seconds_min_max": [round(min(runs), 3), round(max(runs), 3)]},
    }
    for jobs in sorted({1, default_jobs()}):
        result[f"reanalyse_1000_calls_jobs{jobs}"] = time_reanalysis(calls, analyzer, jobs)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
