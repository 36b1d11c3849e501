"""Audio in and out without a system ffmpeg.

PyAV (installed with faster-whisper) decodes every container and codec in-process; the
decoded 16 kHz int16 samples become a pydub ``AudioSegment``, which is the audio layer for
channels, slicing and clips. We keep audio as int16 (2 bytes a sample) and convert to
float32 only one window at a time, so a 2-hour call is never held several times as float32.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import numpy as np

from ..errors import InputError

if TYPE_CHECKING:  # pydub is imported lazily at run time
    from pydub import AudioSegment

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
# Channels whose difference is below this share of their level are one signal twice.
IDENTICAL_CHANNEL_RATIO = 0.02
# A channel this much quieter than the other carries nothing worth transcribing.
SILENT_CHANNEL_RATIO = 0.01


@dataclass
class DecodedAudio:
    """A call's audio, 16 kHz int16, with one AudioSegment per channel we will transcribe."""

    channels: list["AudioSegment"]
    layout: str  # "mono" | "stereo"
    duration: float

    def samples(self, channel: int) -> np.ndarray:
        """The int16 samples of one channel, viewed without a copy."""
        return np.frombuffer(self.channels[channel].raw_data, dtype=np.int16)


@lru_cache(maxsize=1)
def _pydub():
    import warnings

    # pydub warns at import when no ffmpeg binary exists; we never ask it to run one.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        from pydub import AudioSegment
    return AudioSegment


def decode(path: str | Path, *, max_hours: float = 8.0) -> DecodedAudio:
    """Decode any audio or video file to 16 kHz int16, split into the channels to transcribe.

    Stereo files keep both channels unless they are (nearly) identical or one is silent,
    in which case they are treated as mono. More than two channels are mixed down to mono.
    """
    path = Path(path)
    if path.stat().st_size == 0:
        raise InputError("empty file (0 bytes)")
    raw, n_channels = _decode_int16(path, max_hours)
    if not raw:
        raise InputError("no audio samples in the file")
    segment = _pydub()(data=raw, sample_width=2, frame_rate=SAMPLE_RATE, channels=n_channels)
    del raw
    duration = len(segment) / 1000.0
    if n_channels == 1:
        return DecodedAudio([segment], "mono", duration)
    left, right = segment.split_to_mono()
    del segment
    kept = _collapse_channels(left, right)
    return DecodedAudio(kept, "stereo" if len(kept) == 2 else "mono", duration)


def _decode_int16(path: Path, max_hours: float) -> tuple[bytes, int]:
    import av

    try:
        container = av.open(str(path), metadata_errors="ignore")
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"not a readable audio file ({_short(exc)})") from None
    with container:
        if not container.streams.audio:
            raise InputError("the file has no audio track")
        stream = container.streams.audio[0]
        n_channels = 2 if (stream.codec_context.channels or 1) == 2 else 1
        # Large output frames: far fewer Python round trips per hour of audio.
        resampler = av.AudioResampler(format="s16", layout="stereo" if n_channels == 2 else "mono", rate=SAMPLE_RATE,
                                      frame_size=SAMPLE_RATE * 10)
        limit = int(max_hours * 3600 * SAMPLE_RATE * n_channels * 2)
        buffer = bytearray()
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    buffer += out.to_ndarray().tobytes()
                if len(buffer) > limit:
                    raise InputError(f"longer than {max_hours:g} hours (split the recording or raise --max-hours)")
            for out in resampler.resample(None):
                buffer += out.to_ndarray().tobytes()
        except av.error.FFmpegError as exc:
            if not buffer:
                raise InputError(f"corrupt or unsupported audio ({_short(exc)})") from None
            # A truncated file still gives us everything before the damage.
            log.warning("%s: audio ends early (%s); using what decoded", path.name, _short(exc))
    frame_bytes = 2 * n_channels
    usable = len(buffer) - len(buffer) % frame_bytes
    return bytes(memoryview(buffer)[:usable]), n_channels


def _collapse_channels(left: "AudioSegment", right: "AudioSegment") -> list["AudioSegment"]:
    """Keep two channels only when they carry different speech."""
    a = np.frombuffer(left.raw_data, dtype=np.int16)
    b = np.frombuffer(right.raw_data, dtype=np.int16)
    level_a, level_b, level_diff = _levels(a, b)
    loudest = max(level_a, level_b)
    if loudest == 0:
        return [left]
    if level_diff < IDENTICAL_CHANNEL_RATIO * loudest:
        return [left]
    if min(level_a, level_b) < SILENT_CHANNEL_RATIO * loudest:
        return [left if level_a >= level_b else right]
    return [left, right]


def _levels(a: np.ndarray, b: np.ndarray, block: int = SAMPLE_RATE * 60) -> tuple[float, float, float]:
    """Mean absolute level of each channel and of their difference, a block at a time."""
    total_a = total_b = total_diff = 0.0
    for start in range(0, len(a), block):
        xa = a[start : start + block].astype(np.int32)
        xb = b[start : start + block].astype(np.int32)
        total_a += float(np.abs(xa).sum())
        total_b += float(np.abs(xb).sum())
        total_diff += float(np.abs(xa - xb).sum())
    n = max(1, len(a))
    return total_a / n, total_b / n, total_diff / n


def to_float32(samples: np.ndarray) -> np.ndarray:
    """int16 → float32 in [-1, 1], the form Whisper takes. Call it on a window, not a whole call."""
    return samples.astype(np.float32) / 32768.0


def windows(samples: np.ndarray, max_seconds: float = 600.0, search_seconds: float = 20.0) -> Iterator[tuple[int, int]]:
    """Split a long channel into windows of at most ``max_seconds``, cutting in the quietest spot.

    Whisper's feature extraction holds a whole input in memory several times over, so a long
    call goes through in windows; cutting where the audio is quietest keeps words whole.
    """
    total = len(samples)
    step = int(max_seconds * SAMPLE_RATE)
    start = 0
    while total - start > step:
        target = start + step
        cut = _quietest_point(samples, target - int(search_seconds * SAMPLE_RATE), target)
        yield start, cut
        start = cut
    if start < total:
        yield start, total


def _quietest_point(samples: np.ndarray, lo: int, hi: int, frame: int = SAMPLE_RATE // 10) -> int:
    region = samples[lo:hi].astype(np.int32)
    n_frames = len(region) // frame
    if n_frames == 0:
        return hi
    energy = np.abs(region[: n_frames * frame]).reshape(n_frames, frame).sum(axis=1)
    return lo + int(np.argmin(energy)) * frame + frame // 2


def probe_duration(path: str | Path) -> float | None:
    """Duration in seconds from the container header, without decoding (None if unknown)."""
    import av

    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if container.duration:
                return container.duration / 1_000_000
            stream = container.streams.audio[0] if container.streams.audio else None
            if stream is not None and stream.duration and stream.time_base:
                return float(stream.duration * stream.time_base)
    except Exception:  # probing is a best-effort hint for progress; decode reports real errors
        return None
    return None


def _short(exc: BaseException) -> str:
    """FFmpeg's reason without its errno and the (possibly long, odd) file path."""
    text = getattr(exc, "strerror", None) or str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:120]
