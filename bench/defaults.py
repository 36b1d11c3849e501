"""Choose transcription defaults by measurement on sample_calls/ (speed, words recovered, coverage).

    python bench/defaults.py

For each setting it transcribes every sample call in this process (one model, 2 threads) and
prints audio seconds per wall second, the share of the scripts' words recovered, and the share
of true speech time covered by transcribed words.
"""

from __future__ import annotations

import json
import time

from common import coverage, sample_audio, truth_for, words_recovered

from callscan.config import TranscribeOptions
from callscan.transcribe import transcribe_file

SETTINGS = {
    "default (beam 1, vad, no conditioning)": TranscribeOptions(),
    "beam 5": TranscribeOptions(beam_size=5),
    "no vad": TranscribeOptions(vad=False),
    "condition on previous text": TranscribeOptions(condition_on_previous_text=True),
}


def measure(options: TranscribeOptions) -> dict:
    audio_seconds = wall = 0.0
    recovered, covered = [], []
    for path in sample_audio():
        truth = truth_for(path)
        started = time.perf_counter()
        transcript = transcribe_file(path, options, cpu_threads=2)
        wall += time.perf_counter() - started
        audio_seconds += transcript.duration
        heard = " ".join(s.text for s in transcript.segments)
        recovered.append(words_recovered(" ".join(t["text"] for t in truth["turns"]), heard))
        covered.append(coverage(truth["turns"], [(w.start, w.end) for s in transcript.segments for w in s.words]))
    return {
        "x_real_time": round(audio_seconds / wall, 1),
        "words_recovered": round(sum(recovered) / len(recovered), 3),
        "speech_coverage_mean": round(sum(covered) / len(covered), 3),
        "speech_coverage_min": round(min(covered), 3),
    }


if __name__ == "__main__":
    transcribe_file(sample_audio()[0], TranscribeOptions(), cpu_threads=2)  # warm the model
    for name, options in SETTINGS.items():
        print(json.dumps({"setting": name, **measure(options)}), flush=True)
