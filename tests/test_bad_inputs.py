"""A corpus of bad and odd inputs, generated here (no committed binaries).

Every kind gets one clear line naming the file (or is handled correctly, e.g. 8 kHz audio is
transcribed), the batch goes on, and the exit code says some inputs failed.
"""

import io
import os
import shutil
import wave

import numpy as np

from callscan.cli import cli
from conftest import AUDIO

RATE = 16000


def wav_bytes(samples: np.ndarray, rate: int = RATE, channels: int = 1) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as handle:
        handle.setnchannels(channels)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(samples.astype(np.int16).tobytes())
    return buf.getvalue()


def speech(rate: int = RATE) -> np.ndarray:
    """The bundled spoken sentence, resampled (linear) to `rate`."""
    with wave.open(str(AUDIO / "short_mono.wav"), "rb") as handle:
        x = np.frombuffer(handle.readframes(handle.getnframes()), np.int16).astype(np.float64)
    if rate == RATE:
        return x
    t = np.arange(int(len(x) * rate / RATE)) * RATE / rate
    return np.interp(t, np.arange(len(x)), x)


# name → (bytes or callable(path), expected: "ok" or a fragment of the error line)
def corpus(folder):
    rng = np.random.default_rng(1)
    good = (AUDIO / "short_mono.wav").read_bytes()
    mp3 = (AUDIO / "short_mono.mp3").read_bytes()
    kinds = {
        "empty.wav": (b"", "empty file"),
        "truncated.mp3": (mp3[: len(mp3) // 3], "ok"),
        "wrong-magic.wav": (b"\x89PNG\r\n\x1a\n" + bytes(rng.integers(0, 255, 4000, dtype=np.uint8)), "no audio track"),
        "text-named.wav": (b"hello, this is not audio\n" * 50, "not a readable audio file"),
        "zero-seconds.wav": (wav_bytes(np.zeros(0)), "no audio samples"),
        "one-sample.wav": (wav_bytes(np.zeros(1)), "no speech found"),
        "silence.wav": (wav_bytes(np.zeros(RATE * 5)), "no speech found"),
        "noise.wav": (wav_bytes(rng.normal(0, 3000, RATE * 5)), "no speech found"),
        "clipped.wav": (wav_bytes(np.clip(speech() * 8, -32767, 32767)), "ok"),
        "telephone-8k.wav": (wav_bytes(speech(8000), rate=8000), "ok"),
        "studio-96k.wav": (wav_bytes(speech(96000), rate=96000), "ok"),
        "six-channel.wav": (wav_bytes(np.repeat(speech()[:, None], 6, axis=1), channels=6), "ok"),
        "header-only.wav": (good[:44], "no audio samples"),
        "malformed.vtt": (b"WEBVTT\n\n00:00:01.000 --> banana\nhello\n", "no transcript lines"),
        "no-header.vtt": (b"00:00:01.000 --> 00:00:02.000\nhello\n", "malformed WebVTT"),
        "malformed.srt": (b"1\n00:00:01,000 -> 00:00:02,000\nhi\n", "malformed SRT"),
        "binary.srt": (bytes(range(256)) * 4, "not UTF-8"),
        "malformed.json": (b'{"segments": [', "malformed JSON"),
        "foreign.json": (b'{"hello": "world"}', "no 'segments' list"),
        "garbage-segments.json": (b'{"segments": [{"start": "soon"}]}', "malformed"),
        "unsupported.xyz": (b"whatever", "unsupported file type"),
        "no-extension": (b"whatever", "unsupported file type"),
        "<script>alert(1)<_script>.wav": (good, "ok"),
        ("x" * 200) + ".wav": (good, "ok"),
        os.fsdecode(b"caf\xe9-\xff.wav"): (good[:44], "no audio samples"),
        "2099-01-01-future.wav": (good, "ok"),
    }
    for name, (content, expected) in kinds.items():
        (folder / name).write_bytes(content)
    (folder / "loop-a.wav").symlink_to(folder / "loop-b.wav")
    (folder / "loop-b.wav").symlink_to(folder / "loop-a.wav")
    (folder / "dangling.wav").symlink_to(folder / "missing-target.wav")
    (folder / "calls.csv").write_text(
        "file,date,rep\n"
        "2099-01-01-future.wav,2099-01-01,Nobody Known\n"
        ",2026-01-01,Ghost\n"
        "clipped.wav,not-a-date,Dana\n"
        '"unterminated,2026-01-01\n'
    )
    return kinds


def test_bad_input_corpus(runner, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    kinds = corpus(folder)
    out = tmp_path / "out"
    result = runner.invoke(cli, ["scan", str(folder), "-o", str(out), "-s", "--jobs", "1"])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    wrong = []
    for name, (_, expected) in kinds.items():
        printable = name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        lines = [line for line in errors if printable in line or name[:60] in line]
        if (expected == "ok" and lines) or (expected != "ok" and not (len(lines) == 1 and expected in lines[0])):
            wrong.append((name, expected, lines))
    assert not wrong, wrong
    for special in ("loop-a.wav", "loop-b.wav", "dangling.wav"):
        assert any(special in line for line in errors), (special, errors)
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    for expected in ("not YYYY-MM-DD", "no file name", "in the future"):
        assert any(expected in w for w in warnings), (expected, warnings)
    # Everything that could be transcribed was, and its outputs exist.
    ok = [n for n, (_, e) in kinds.items() if e == "ok"]
    assert f"{len(ok)} transcribed" in result.stderr
    assert len(list((out / "calls").glob("*.json"))) == len(ok)


def test_very_long_input_is_refused_before_it_fills_memory(runner, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "long.wav").write_bytes(wav_bytes(np.zeros(RATE * 120)))
    result = runner.invoke(cli, ["scan", str(folder), "-o", str(tmp_path / "o"), "-s", "--max-hours", "0.01"])
    assert result.exit_code == 1
    assert "long.wav: longer than 0.01 hours" in result.stderr


def test_output_folder_that_cannot_be_written(runner, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("I am a file, not a folder")
    shutil.copy(AUDIO / "short_mono.wav", tmp_path / "a.wav")
    result = runner.invoke(cli, ["scan", str(tmp_path / "a.wav"), "-o", str(blocker / "out"), "-s"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output and "Error:" in result.output
    assert len(result.output.strip().splitlines()) <= 2


def test_disk_full_while_writing_reports_one_line(runner, calls_dir, tmp_path, monkeypatch):
    import errno

    def full(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device", str(dst))

    monkeypatch.setattr(os, "replace", full)  # every report file is written through os.replace
    out = tmp_path / "o"
    result = runner.invoke(cli, ["scan", str(calls_dir), "-o", str(out), "-s", "--jobs", "1"])
    assert result.exit_code == 1
    assert "No space left on device" in result.output and "Traceback" not in result.output
    assert not [p for p in out.rglob("*") if p.is_file() and p.suffix in (".html", ".json", ".tmp")]


def test_missing_or_damaged_model_folder(runner, tmp_path):
    clip = tmp_path / "a.wav"
    shutil.copy(AUDIO / "short_mono.wav", clip)
    result = runner.invoke(cli, ["transcribe", str(clip), "--model", str(tmp_path / "no-such-model")])
    assert result.exit_code == 1 and "no such model folder" in result.output
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / "model.bin").write_bytes(b"\x00" * 1000)
    (damaged / "config.json").write_text("{}")
    result = runner.invoke(cli, ["transcribe", str(clip), "--model", str(damaged)])
    assert result.exit_code == 1 and "could not load model" in result.output
    assert "Traceback" not in result.output
