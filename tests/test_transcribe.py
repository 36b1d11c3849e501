"""Real transcription with the embedded tiny.en model on bundled clips."""

import shutil

import pytest

from callscan.config import TranscribeOptions
from callscan.errors import ModelError
from callscan.transcribe import EMBEDDED_WHISPER_SHA256, embedded_whisper_path, resolve_model, transcribe_file, verify_files
from conftest import AUDIO, words

CONTENT = {"price", "too", "high", "budget", "quarter"}


@pytest.mark.parametrize("name", ["short_mono.wav", "short_mono.mp3", "short_mono.m4a"])
def test_content_words_come_back(name):
    transcript = transcribe_file(AUDIO / name, TranscribeOptions(), cpu_threads=1)
    heard = set().union(*(words(s.text) for s in transcript.segments))
    # tiny.en mishears a word or two of synthetic speech; the key words must come back.
    assert {"price", "high"} <= heard
    assert len(CONTENT & heard) >= 4
    assert transcript.channels == "mono"
    seg = transcript.segments[0]
    assert seg.words and seg.words[0].start <= seg.words[-1].end <= transcript.duration + 0.5


def test_dual_channel_each_channel_is_its_own_speaker(clips):
    transcript = transcribe_file(AUDIO / "short_stereo.ogg", TranscribeOptions(), cpu_threads=1)
    assert transcript.channels == "stereo"
    by_channel = {}
    for seg in transcript.segments:
        by_channel.setdefault(seg.channel, set()).update(words(seg.text))
    assert set(by_channel) == {0, 1}
    truth = {s["channel"]: words(s["text"]) for s in clips["short_stereo.ogg"]["segments"]}
    left, right = truth.get("left"), truth.get("right")
    # Most of each speaker's words are found on their own channel and not the other.
    assert len(by_channel[0] & left) >= 0.6 * len(left)
    assert len(by_channel[1] & right) >= 0.6 * len(right)
    assert len(by_channel[0] & (right - left)) <= 1
    # Segments are merged in time order.
    starts = [s.start for s in transcript.segments]
    assert starts == sorted(starts)


def test_embedded_model_hashes_are_checked(tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(embedded_whisper_path(), copy)
    verify_files(copy, EMBEDDED_WHISPER_SHA256, "x")  # an exact copy passes
    with open(copy / "vocabulary.txt", "a") as handle:
        handle.write("tampered\n")
    with pytest.raises(ModelError, match="does not match its recorded sha256"):
        verify_files(copy, EMBEDDED_WHISPER_SHA256, "x")


def test_model_folder_and_names_resolve_without_loading(tmp_path):
    assert resolve_model(None).download is False
    assert resolve_model("small.en").download is True
    with pytest.raises(ModelError, match="no model.bin"):
        resolve_model(str(tmp_path))
