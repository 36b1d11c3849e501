"""Re-analysis of stored calls (no transcription): in worker processes and in-process, same result."""

from concurrent.futures.process import BrokenProcessPool

import pytest

from callscan import pipeline
from callscan.analyze import analysis_key
from callscan.cli import cli
from callscan.config import ScanOptions, models_dir
from callscan.store import Store

CUSTOMER_LINES = [
    "Honestly the price is too high for us, we cannot justify it this year.",
    "We already use Gong and we are happy with it.",
    "I would need to run this by our CFO before anything happens.",
    "Our contract with the current vendor runs until June.",
    "We keep everything in spreadsheets and that works fine for us.",
    "Security would need to review where the data is stored.",
]


@pytest.fixture
def stored(runner, tmp_path):
    """Six transcript calls scanned once with one job: the reference analysis."""
    folder = tmp_path / "calls"
    folder.mkdir()
    for n, line in enumerate(CUSTOMER_LINES):
        (folder / f"call-{n}.vtt").write_text(
            "WEBVTT\n\n00:00:01.000 --> 00:00:03.000\n<v Dana Whitfield>Thanks for joining, what do you think?\n\n"
            f"00:00:03.500 --> 00:00:08.000\n<v Sam Lee>{line}\n"
        )
    (folder / "calls.csv").write_text(
        "file,rep\n" + "".join(f"call-{n}.vtt,Dana Whitfield\n" for n in range(len(CUSTOMER_LINES)))
    )
    out = tmp_path / "out"
    result = runner.invoke(cli, ["scan", str(folder), "-o", str(out), "--jobs", "1"])
    assert result.exit_code == 0, result.output
    with Store(out / "callscan.db") as store:
        reference = {i: store.load_call(i) for i in store.call_ids()}
        store.db.execute("UPDATE calls SET analysis_key='stale', analysis_json='{}'")
        store.db.commit()
    return out, reference


def _reanalyse(out, jobs: int):
    options = ScanOptions(out_dir=out, db_path=out / "callscan.db", jobs=jobs)
    key = analysis_key(models_dir(), options.role_settings)
    with Store(options.db_path) as store:
        seen = [c.id for c in pipeline.reanalyse(store, store.call_ids(), options, _Loaded(), key, chunk=2)]
        return seen, {i: store.load_call(i) for i in store.call_ids()}, key


class _Loaded:
    def get(self):
        from callscan.analyze import load_analyzer

        return load_analyzer(models_dir())


def _same_analysis(a, b):
    assert a.objections == b.objections
    assert a.keywords == b.keywords
    assert a.mentions == b.mentions
    assert a.trackers == b.trackers


def test_worker_processes_give_the_same_analysis(stored, monkeypatch):
    out, reference = stored
    monkeypatch.setattr(pipeline, "POOL_MIN_CALLS", 1)
    seen, calls, key = _reanalyse(out, jobs=2)
    assert sorted(seen) == sorted(reference)  # every call once, none twice
    assert any(c.objections for c in calls.values())
    for call_id, call in calls.items():
        _same_analysis(call, reference[call_id])
    with Store(out / "callscan.db") as store:
        assert {store.status(i)[1] for i in calls} == {key}


def test_a_dead_worker_pool_leaves_the_rest_to_this_process(stored, monkeypatch):
    out, reference = stored

    class DiesAfterOneBatch:
        """Stands in for the pool: the first batch works, then the pool is broken."""

        def __init__(self, *args, **kwargs):
            self.submitted = 0

        def submit(self, fn, calls):
            from concurrent.futures import Future

            self.submitted += 1
            if self.submitted > 1:
                raise BrokenProcessPool("a worker died")
            future = Future()
            future.set_result(_Loaded().get().analyze_many(calls))
            return future

        def shutdown(self, wait=True, cancel_futures=False):
            pass

    monkeypatch.setattr(pipeline, "POOL_MIN_CALLS", 1)
    monkeypatch.setattr(pipeline, "ProcessPoolExecutor", DiesAfterOneBatch)
    seen, calls, _ = _reanalyse(out, jobs=2)
    assert sorted(seen) == sorted(reference)
    for call_id, call in calls.items():
        _same_analysis(call, reference[call_id])
