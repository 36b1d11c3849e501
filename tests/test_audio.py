"""Decoding without ffmpeg, channel handling and windowing."""

import wave

import numpy as np
import pytest

from callscan.errors import InputError
from callscan.ingest.audio import SAMPLE_RATE, decode, windows
from conftest import AUDIO


def write_wav(path, channels: np.ndarray, rate: int = SAMPLE_RATE):
    """channels: int16 array shaped (n_samples, n_channels)."""
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(channels.shape[1])
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(channels.astype(np.int16).tobytes())
    return path


def tone(seconds: float, freq: float = 220.0, rate: int = SAMPLE_RATE, level: int = 8000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (level * np.sin(2 * np.pi * freq * t)).astype(np.int16)


@pytest.mark.parametrize("name", ["short_mono.wav", "short_mono.mp3", "short_mono.m4a"])
def test_decodes_every_bundled_format_to_16k_mono(name, clips):
    audio = decode(AUDIO / name)
    assert audio.layout == "mono"
    assert abs(audio.duration - clips[name]["duration"]) < 0.15
    assert audio.channels[0].frame_rate == SAMPLE_RATE
    assert np.abs(audio.samples(0)).max() > 1000  # real signal, not silence


def test_stereo_with_different_speakers_keeps_both_channels():
    audio = decode(AUDIO / "short_stereo.ogg")
    assert audio.layout == "stereo"
    assert len(audio.channels) == 2


def test_identical_channels_are_treated_as_mono(tmp_path):
    signal = tone(2.0)
    path = write_wav(tmp_path / "dup.wav", np.stack([signal, signal], axis=1))
    assert decode(path).layout == "mono"


def test_one_silent_channel_leaves_the_other(tmp_path):
    signal = tone(2.0)
    path = write_wav(tmp_path / "half.wav", np.stack([np.zeros_like(signal), signal], axis=1))
    audio = decode(path)
    assert audio.layout == "mono"
    assert np.abs(audio.samples(0)).max() > 1000  # kept the channel with the signal


def test_resamples_44k_and_mixes_six_channels_down(tmp_path):
    signal = tone(1.0, rate=44100)
    path = write_wav(tmp_path / "six.wav", np.stack([signal] * 6, axis=1), rate=44100)
    audio = decode(path)
    assert audio.layout == "mono"
    assert abs(audio.duration - 1.0) < 0.05


@pytest.mark.parametrize(
    "content, reason",
    [
        (b"", "empty"),
        (b"this is a text file, not audio\n" * 20, "not a readable audio file"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", "not a readable audio file"),
    ],
)
def test_bad_audio_gives_one_clear_error(tmp_path, content, reason):
    path = tmp_path / "bad.mp3"
    path.write_bytes(content)
    with pytest.raises(InputError, match=reason):
        decode(path)


def test_truncated_mp3_decodes_what_is_there(tmp_path):
    data = (AUDIO / "short_mono.mp3").read_bytes()
    path = tmp_path / "cut.mp3"
    path.write_bytes(data[: len(data) // 2])
    audio = decode(path)
    assert 0.5 < audio.duration < 2.5


def test_windows_cut_long_audio_in_quiet_spots():
    # 25 s of tone with a silent gap around 9.5 s: the cut for a 10 s window lands in it.
    signal = np.concatenate([tone(9.3), np.zeros(int(0.4 * SAMPLE_RATE), np.int16), tone(15.3)])
    spans = list(windows(signal, max_seconds=10, search_seconds=3))
    assert spans[0][0] == 0 and spans[-1][1] == len(signal)
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))  # no gap, no overlap
    first_cut = spans[0][1] / SAMPLE_RATE
    assert 9.3 <= first_cut <= 9.7
    assert all((hi - lo) <= 10 * SAMPLE_RATE for lo, hi in spans)
