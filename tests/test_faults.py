"""Faults: SIGKILL mid-batch, Ctrl-C, two runs on one store. Real processes, real signals."""

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import wave

import numpy as np
import pytest

from conftest import AUDIO

BATCH = 10


@pytest.fixture
def batch(tmp_path):
    """Ten distinct short calls (the same sentence with a different quiet tail)."""
    folder = tmp_path / "batch"
    folder.mkdir()
    with wave.open(str(AUDIO / "short_mono.wav"), "rb") as src:
        params, frames = src.getparams(), src.readframes(src.getnframes())
    rng = np.random.default_rng(7)
    for i in range(BATCH):
        tail = (rng.normal(0, 20, 1600 * (i + 1))).astype(np.int16).tobytes()
        with wave.open(str(folder / f"2026-10-{i + 1:02d}-call.wav"), "wb") as out:
            out.setparams(params)
            out.writeframes(frames + tail)
    return folder


def start_scan(folder, out, db=None):
    args = [sys.executable, "-m", "callscan", "scan", str(folder), "-o", str(out), "-s", "--jobs", "1"]
    if db:
        args += ["--db", str(db)]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def stored(db) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return conn.execute("SELECT count(*) FROM calls").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def wait_for(db, n, proc, timeout=120):
    deadline = time.time() + timeout
    while stored(db) < n and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)


def summary(stderr: str) -> dict:
    match = re.search(r"(\d+) transcribed, (\d+) skipped", stderr)
    assert match, stderr
    return {"transcribed": int(match.group(1)), "skipped": int(match.group(2))}


def check_store(db):
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        ids = [r[0] for r in conn.execute("SELECT id FROM calls")]
        orphans = conn.execute("SELECT count(*) FROM segments WHERE call_id NOT IN (SELECT id FROM calls)").fetchone()[0]
    assert len(ids) == len(set(ids)) and orphans == 0
    return len(ids)


@pytest.mark.parametrize("kill_after", [0, 3, 7])
def test_sigkill_mid_batch_loses_nothing_and_redoes_nothing(batch, tmp_path, kill_after):
    out = tmp_path / "out"
    db = out / "callscan.db"
    proc = start_scan(batch, out)
    wait_for(db, kill_after, proc)
    if kill_after == 0:
        time.sleep(1.0)  # still loading models
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    done_before = check_store(db) if db.exists() else 0
    assert done_before >= kill_after
    rerun = start_scan(batch, out)
    _, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    counts = summary(err)
    assert counts == {"transcribed": BATCH - done_before, "skipped": done_before}
    assert check_store(db) == BATCH
    # No half-written report file is left behind under a final name.
    assert not list(out.rglob("*.tmp"))


def test_ctrl_c_exits_130_and_resumes(batch, tmp_path):
    out = tmp_path / "out"
    db = out / "callscan.db"
    proc = start_scan(batch, out)
    wait_for(db, 2, proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "resume" in err
    done_before = check_store(db)
    rerun = start_scan(batch, out)
    _, err = rerun.communicate(timeout=300)
    assert summary(err)["transcribed"] == BATCH - done_before
    assert check_store(db) == BATCH


def test_two_runs_on_one_store_share_the_work(batch, tmp_path):
    db = tmp_path / "shared.db"
    first = start_scan(batch, tmp_path / "a", db)
    time.sleep(0.3)
    second = start_scan(batch, tmp_path / "b", db)
    results = [p.communicate(timeout=300) for p in (first, second)]
    assert first.returncode == 0 and second.returncode == 0, results
    transcribed = sum(summary(err)["transcribed"] for _, err in results)
    assert transcribed == BATCH  # each call transcribed exactly once across both runs
    assert check_store(db) == BATCH


def test_a_killed_worker_is_replaced_and_its_calls_retried(batch, tmp_path):
    out = tmp_path / "out"
    args = [sys.executable, "-m", "callscan", "scan", str(batch), "-o", str(out), "-s", "--jobs", "2"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    workers = []
    deadline = time.time() + 60
    while not workers and time.time() < deadline and proc.poll() is None:
        found = subprocess.run(["pgrep", "-P", str(proc.pid), "-f", "multiprocessing.spawn"],
                               capture_output=True, text=True).stdout.split()
        # Kill a worker once it has loaded the model and is working.
        if found and stored(out / "callscan.db") >= 1:
            workers = found
        time.sleep(0.05)
    assert workers, "no worker process seen"
    os.kill(int(workers[0]), signal.SIGKILL)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert summary(err)["transcribed"] == BATCH
    assert check_store(out / "callscan.db") == BATCH


def test_a_file_that_keeps_crashing_workers_is_given_up(tmp_path):
    from callscan.pipeline import Job, _after_crash
    from callscan.schema import Source

    def job(name):
        return Job(Source(path=name, name=name, kind="audio", content_hash=name * 8, size=1), "transcribe", 1.0)

    a, b = job("a"), job("b")
    crashes, queue = {}, []
    assert list(_after_crash({1: a, 2: b}, queue, crashes)) == [] and queue == [a, b]
    queue.clear()
    failed = list(_after_crash({1: a}, queue, crashes))
    assert failed == [(a, None, "a transcription worker crashed twice on this file")] and queue == []
