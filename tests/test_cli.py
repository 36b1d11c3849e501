"""The CLI end to end through CliRunner: outputs, cache, resume, bad input, exit codes."""

import json
import os
import shutil

import pytest

from callscan import pipeline
from callscan.cli import cli
from callscan.config import ScanOptions
from callscan.store import Store
from conftest import AUDIO


def scan(runner, *args):
    return runner.invoke(cli, ["scan", *map(str, args), "-s", "--jobs", "1"])


def test_every_command_has_help(runner):
    result = runner.invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name, command in cli.commands.items():
        assert command.help, f"{name} has no help text"
        assert runner.invoke(cli, [name, "-h"]).exit_code == 0


def test_scan_writes_store_json_and_pages(runner, calls_dir, tmp_path):
    out = tmp_path / "out"
    result = scan(runner, calls_dir, "-o", out)
    assert result.exit_code == 0, result.output
    assert "3 transcribed" in result.stderr
    pages = sorted(p.name for p in (out / "calls").glob("*.json"))
    assert len(pages) == 3 and (out / "index.html").exists() and (out / "callscan.db").exists()
    by_file = {json.loads((out / "calls" / p).read_text())["source_file"]: json.loads((out / "calls" / p).read_text())
               for p in pages}
    stereo = by_file["stereo-call.ogg"]
    assert stereo["channels"] == "stereo" and stereo["rep"] == "Dana Whitfield" and stereo["date"] == "2026-10-12"
    assert stereo["meta"] == {"campaign": "fall-promo"} and stereo["account"] == "Acme"
    assert {s["role"] for s in stereo["segments"]} == {"rep", "customer"}
    assert all(s["words"] for s in stereo["segments"])
    for key in ("objections", "keywords", "segments", "duration", "language", "model"):
        assert key in stereo
    mono = by_file["2026-10-05-mono.wav"]
    assert mono["date"] == "2026-10-05" and mono["date_source"] == "filename"
    assert {s["role"] for s in mono["segments"]} == {"unknown"}
    zoom = by_file["zoom.vtt"]
    assert [s["role"] for s in zoom["segments"]] == ["rep", "customer"]  # manifest rep named in the VTT
    assert (out / "calls" / f"{stereo['id']}.html").exists()


def test_rerun_skips_everything(runner, calls_dir, tmp_path):
    out = tmp_path / "out"
    assert scan(runner, calls_dir, "-o", out).exit_code == 0
    again = scan(runner, calls_dir, "-o", out)
    assert again.exit_code == 0
    assert "0 transcribed, 3 skipped" in again.stderr


def test_changed_settings_retranscribe_and_manifest_edits_apply_without(runner, calls_dir, tmp_path):
    out = tmp_path / "out"
    assert scan(runner, calls_dir, "-o", out).exit_code == 0
    csv_path = calls_dir / "calls.csv"
    csv_path.write_text(csv_path.read_text().replace("Acme", "Acme Corp"))
    result = scan(runner, calls_dir, "-o", out)
    assert "0 transcribed" in result.stderr
    with Store(out / "callscan.db") as store:
        accounts = {c.source.name: c.source.account for c in store.iter_calls()}
    assert accounts["stereo-call.ogg"] == "Acme Corp"
    result = scan(runner, calls_dir, "-o", out, "--beam-size", "2")
    assert "2 transcribed, 1 skipped" in result.stderr  # audio redone, the transcript file not


def test_interrupted_batch_resumes_without_redoing(calls_dir, tmp_path):
    db = tmp_path / "out" / "callscan.db"
    options = ScanOptions(out_dir=tmp_path / "out", db_path=db, jobs=1)
    with Store(db) as store:
        work = pipeline.plan([calls_dir], options, store)
        first = next(pipeline.run(work, options, store))  # then the process "dies"
    assert first.status == "ok"
    with Store(db) as store:
        assert store.count() == 1
        work = pipeline.plan([calls_dir], options, store)
        statuses = sorted(o.status for o in pipeline.run(work, options, store))
        assert statuses == ["ok", "ok", "skipped"]
        assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_bad_inputs_one_line_each_batch_goes_on(runner, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(AUDIO / "short_mono.wav", folder / "good.wav")
    (folder / "empty.wav").write_bytes(b"")
    (folder / "fake.mp3").write_text("not audio at all")
    (folder / "notes.pdf").write_text("pdf?")
    (folder / "broken.vtt").write_text("garbage")
    (folder / "silence.wav").write_bytes(_silent_wav(3.0))
    (folder / "zero.wav").write_bytes(_silent_wav(0.0))
    odd = os.fsdecode(b"caf\xe9-\xff.wav")  # a name that is not valid UTF-8
    (folder / odd).write_bytes(b"\x00" * 100)
    result = scan(runner, folder, "-o", tmp_path / "out")
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 7, result.stderr
    for needle in ("empty.wav: empty file", "fake.mp3: not a readable audio file", "notes.pdf: unsupported file type",
                   "broken.vtt: malformed WebVTT", "silence.wav: no speech found", "zero.wav: no audio samples"):
        assert any(needle in line for line in errors), needle
    assert "Traceback" not in result.output
    assert "1 transcribed" in result.stderr


def test_missing_input_and_unreadable_file(runner, tmp_path):
    if os.geteuid() == 0:
        locked = None  # root reads everything: the permission case cannot be shown here
    else:
        locked = tmp_path / "locked.wav"
        shutil.copy(AUDIO / "short_mono.wav", locked)
        locked.chmod(0)
    args = [tmp_path / "nope.wav"] + ([locked] if locked else [])
    result = scan(runner, *args, "-o", tmp_path / "out")
    assert result.exit_code == 1
    assert "nope.wav: no such file or folder" in result.stderr
    if locked:
        assert "permission denied" in result.stderr


def test_usage_error_exit_code(runner, tmp_path):
    assert runner.invoke(cli, ["scan", str(tmp_path)]).exit_code == 2  # no -o


def test_foreign_database_is_one_clear_error(runner, calls_dir, tmp_path):
    db = tmp_path / "foreign.db"
    db.write_bytes(b"this is not sqlite" * 100)
    result = runner.invoke(cli, ["scan", str(calls_dir), "-o", str(tmp_path / "o"), "--db", str(db), "-s"])
    assert result.exit_code == 1
    assert "not a usable callscan database" in result.output and "Traceback" not in result.output


def test_named_model_offline_fails_with_one_line(runner, calls_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    result = runner.invoke(cli, ["transcribe", str(AUDIO / "short_mono.wav"), "--model", "base.en"])
    assert result.exit_code == 1
    assert "could not load model 'base.en'" in result.output and "embedded" in result.output


@pytest.mark.parametrize("fmt, marker", [("txt", "] Speaker"), ("vtt", "WEBVTT"), ("srt", " --> "), ("json", '"segments"')])
def test_transcribe_prints_each_format(runner, fmt, marker):
    result = runner.invoke(cli, ["transcribe", str(AUDIO / "short_mono.wav"), "--format", fmt])
    assert result.exit_code == 0, result.output
    assert marker in result.stdout and "price" in result.stdout.lower()


def _silent_wav(seconds: float) -> bytes:
    import io
    import wave

    buf = io.BytesIO()
    with wave.open(buf, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(16000)
        handle.writeframes(b"\x00\x00" * int(16000 * seconds))
    return buf.getvalue()
