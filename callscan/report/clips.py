"""Small compressed audio for the pages: one mono copy per call and short clips of quotes.

Pages must open from a laptop or a shared drive, so they never point at the user's original
recordings (absolute paths, large WAVs). Instead we write MP3 copies into the output folder:
MP3 because every browser plays it (Safari included), 16 kHz mono at a low bitrate because
speech needs no more. pydub cannot encode without an ffmpeg binary, so PyAV encodes.

A source is decoded at most once per render, and only when some output is missing or older
than the recording; an existing copy is reused even after the recording has been moved away.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .files import write_atomic

if TYPE_CHECKING:
    from pydub import AudioSegment

    from ..ingest.audio import DecodedAudio

log = logging.getLogger(__name__)

AUDIO_DIR = "audio"
CLIPS_DIR = "clips"
EXTENSION = ".mp3"
CALL_BITRATE = 32_000  # bits/s: about 14 MB an hour, clear enough to judge a rep's tone
CLIP_BITRATE = 32_000
CLIP_PAD = 1.0  # seconds before and after a quote, so the listener hears it begin and end
LAME_QUALITY = 7
FADE_MS = 40  # avoids a click where the clip is cut mid-waveform
_CHUNK = 16_000 * 10  # samples per frame handed to the encoder


@dataclass(frozen=True)
class ClipRequest:
    """A stretch of one call to cut; ``channel`` is the speaker's channel (None: the mix)."""

    call_id: str
    start: float
    end: float
    channel: int | None = None

    @property
    def filename(self) -> str:
        side = "" if self.channel is None else f"-c{self.channel}"
        return f"{self.call_id}-{int(self.start * 1000)}-{int(self.end * 1000)}{side}{EXTENSION}"

    @property
    def href(self) -> str:
        """Relative to the output folder."""
        return f"{CLIPS_DIR}/{self.filename}"


@dataclass
class AudioResult:
    """What exists for a call after ``render_audio``: relative hrefs, or why not."""

    call_href: str | None = None
    clips: dict[ClipRequest, str] = field(default_factory=dict)
    note: str | None = None  # shown to the reader when there is no audio


# Recordings already in a compact format every browser plays are copied as they are: the
# player gets the original quality and the report skips a decode and an encode per call.
PLAYABLE_AS_IS = {".mp3": ".mp3", ".ogg": ".ogg", ".opus": ".opus", ".oga": ".ogg"}


def call_audio_href(call_id: str, redacted: bool = False, source: Path | None = None) -> str:
    # A redacted copy has its own name, so switching --redact never reuses the wrong file.
    if redacted:
        return f"{AUDIO_DIR}/{call_id}.redacted{EXTENSION}"
    suffix = PLAYABLE_AS_IS.get(source.suffix.lower(), EXTENSION) if source else EXTENSION
    return f"{AUDIO_DIR}/{call_id}{suffix}"


@dataclass(frozen=True)
class Muting:
    """Stretches (seconds) that hold personal data: always muted in clips, and in the call's
    own copy when the user asked for ``--redact``."""

    spans: tuple[tuple[float, float], ...] = ()
    call_copy: bool = False


def render_audio(out_dir: Path, call_id: str, kind: str, source_path: str | None,
                 clips: list[ClipRequest], muting: Muting = Muting()) -> AudioResult:
    """Write (or reuse) the call's compressed copy and the requested clips."""
    if kind != "audio":
        return AudioResult(note="transcript only: no audio")
    source = Path(source_path) if source_path else None
    copy_href = call_audio_href(call_id, muting.call_copy and bool(muting.spans), source)
    targets = {copy_href: None, **{c.href: c for c in clips}}
    stale = [href for href in targets if not _fresh(out_dir / href, source)]
    if stale and source is not None and source.is_file():
        _write_from_source(out_dir, source, copy_href if copy_href in stale else None,
                           [targets[h] for h in stale if targets[h] is not None], muting)
    return _collect(out_dir, copy_href, clips)


def _fresh(path: Path, source: Path | None) -> bool:
    """Reusable: present, not empty, and not older than the recording (if it still exists)."""
    try:
        made = path.stat()
    except OSError:
        return False
    if made.st_size == 0:
        return False
    try:
        return source is None or made.st_mtime >= source.stat().st_mtime
    except OSError:  # the recording is gone: the copy is all we have
        return True


def _collect(out_dir: Path, copy_href: str, clips: list[ClipRequest]) -> AudioResult:
    result = AudioResult()
    if (out_dir / copy_href).is_file():
        result.call_href = copy_href
    else:
        result.note = "audio not available: the recording could not be found or read"
    result.clips = {c: c.href for c in clips if (out_dir / c.href).is_file()}
    return result


def _write_from_source(out_dir: Path, source: Path, copy_href: str | None, clips: list[ClipRequest],
                       muting: Muting) -> None:
    from ..errors import CallscanError
    from ..ingest.audio import decode

    if copy_href and not copy_href.endswith(EXTENSION) and source.suffix.lower() in PLAYABLE_AS_IS:
        write_atomic(out_dir / copy_href, source.read_bytes())
        copy_href = None
        if not clips:
            return
    try:
        audio = decode(source)
    except (CallscanError, OSError) as exc:
        # One unreadable recording must not stop the report; the page says audio is missing.
        log.warning("%s: no audio for the report (%s)", source.name, exc)
        return
    muted = mute(audio, muting.spans) if muting.spans else audio
    if copy_href:
        whole = muted if muting.call_copy else audio
        write_atomic(out_dir / copy_href, encode_mp3(_mix(whole), CALL_BITRATE))
    for clip in clips:
        write_atomic(out_dir / clip.href, encode_mp3(cut(muted, clip), CLIP_BITRATE))


def mute(audio: "DecodedAudio", spans) -> "DecodedAudio":
    """A copy of the audio with every channel silent over the given stretches."""
    from ..ingest.audio import DecodedAudio

    channels = []
    for index, track in enumerate(audio.channels):
        samples = audio.samples(index).copy()
        for start, end in spans:
            lo, hi = max(0, int(start * track.frame_rate)), int(end * track.frame_rate) + 1
            samples[lo:hi] = 0
        channels.append(type(track)(data=samples.tobytes(), sample_width=2, frame_rate=track.frame_rate, channels=1))
    return DecodedAudio(channels, audio.layout, audio.duration)


def cut(audio: "DecodedAudio", clip: ClipRequest) -> "AudioSegment":
    """The quote plus ``CLIP_PAD`` on each side, from the speaker's own channel when known."""
    use_channel = clip.channel is not None and 0 <= clip.channel < len(audio.channels)
    track = audio.channels[clip.channel] if use_channel else _mix(audio)
    start_ms = max(0, int((clip.start - CLIP_PAD) * 1000))
    end_ms = min(len(track), int((clip.end + CLIP_PAD) * 1000))
    piece = track[start_ms:max(end_ms, start_ms + 1)]
    return piece.fade_in(min(FADE_MS, len(piece) // 2)).fade_out(min(FADE_MS, len(piece) // 2))


def _mix(audio: "DecodedAudio") -> "AudioSegment":
    """Both sides of a dual-channel call in one mono track.

    Summed, not averaged: in a dual-channel recording each side is near-silent while the other
    talks, so a sum keeps each voice at its own level; clipping guards the rare overlap.
    """
    if len(audio.channels) == 1:
        return audio.channels[0]
    total = np.zeros(len(audio.samples(0)), dtype=np.int32)
    for index in range(len(audio.channels)):
        samples = audio.samples(index)
        total[: len(samples)] += samples
    mixed = np.clip(total, -32768, 32767).astype(np.int16)
    first = audio.channels[0]
    return type(first)(data=mixed.tobytes(), sample_width=2, frame_rate=first.frame_rate, channels=1)


def encode_mp3(segment: "AudioSegment", bitrate: int) -> bytes:
    """Mono 16-bit AudioSegment → MP3 bytes, in memory, with PyAV's LAME encoder."""
    import io

    import av

    samples = np.frombuffer(segment.raw_data, dtype=np.int16)
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp3") as container:
        stream = container.add_stream("libmp3lame", rate=segment.frame_rate)
        stream.bit_rate = bitrate
        stream.layout = "mono"
        # LAME's -q7: twice as fast as the default and no audible loss for speech at this rate.
        stream.codec_context.options = {"compression_level": str(LAME_QUALITY)}
        for start in range(0, len(samples), _CHUNK):
            frame = av.AudioFrame.from_ndarray(samples[start:start + _CHUNK].reshape(1, -1),
                                               format="s16", layout="mono")
            frame.sample_rate = segment.frame_rate
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buffer.getvalue()
