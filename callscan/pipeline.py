"""Streaming orchestration: inputs → sources → transcripts → roles → analysis → store → files.

``plan()`` finds and hashes the inputs and decides, per call, whether it needs transcription,
only re-analysis, or nothing. ``run()`` is a generator of ``Outcome``s: each call is stored
(one transaction) and its files written the moment it is finished, before the next result is
taken, so an interrupted batch keeps everything done so far.

Workers are processes (two single-threaded CTranslate2 processes beat one two-threaded one on
2 cores), each loading the model once; the main process owns the store, so SQLite has one
writer.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from . import analyze as analysis
from .analyze.encoder import WORKER_ENV
from .config import ScanOptions, TranscribeOptions, models_dir
from .errors import CallscanError, InputError
from .ingest.audio import probe_duration
from .ingest.sources import Candidate, Rejected, discover, make_source
from .ingest.transcripts import read_transcript
from .schema import Call, Source, Transcript
from .speakers import assign_roles
from .store import Store, transcript_key
from .transcribe import resolve_model, transcribe_file

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    """What happened to one input."""

    path: Path
    status: str  # ok | skipped | reanalysed | failed
    call: Call | None = None
    message: str | None = None
    audio_seconds: float = 0.0


@dataclass
class Job:
    source: Source
    action: str  # transcribe | reanalyse | skip
    estimate: float  # seconds of audio, for progress
    key: str = ""  # the transcript key this run would store


@dataclass
class Plan:
    jobs: list[Job] = field(default_factory=list)
    rejected: list[Outcome] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def total_seconds(self) -> float:
        return sum(j.estimate for j in self.jobs if j.action == "transcribe")


def plan(inputs: list[Path], options: ScanOptions, store: Store) -> Plan:
    """Hash every input and compare with the store; nothing is transcribed here."""
    result = Plan()
    model_id = resolve_model(options.transcribe.model).id
    want_analysis = analysis.analysis_key(models_dir(), options.role_settings)
    for found in discover(inputs, result.warnings):
        if isinstance(found, Rejected):
            result.rejected.append(Outcome(found.path, "failed", message=found.reason))
            continue
        try:
            source = make_source(found)
        except InputError as exc:
            result.rejected.append(Outcome(found.path, "failed", message=str(exc)))
            continue
        result.jobs.append(_job(found, source, store, model_id, options, want_analysis))
    # Longest first: with several workers the batch then ends evenly.
    result.jobs.sort(key=lambda j: -j.estimate)
    return result


def _job(found: Candidate, source: Source, store: Store, model_id: str, options: ScanOptions, want_analysis: str) -> Job:
    if found.kind == "audio":
        key = transcript_key(source, model_id, options.transcribe.cache_settings())
        estimate = probe_duration(found.path) or source.size / 16000  # ~128 kbps if the header is silent
    else:
        key = transcript_key(source, None, _reader_settings(found.path))
        estimate = 0.0
    stored = store.status(source.call_id)
    if stored is None or stored[0] != key:
        action = "transcribe"
    elif stored[1] != want_analysis:
        action = "reanalyse"
    else:
        action = "skip"
    return Job(source, action, estimate, key)


def _reader_settings(path: Path) -> dict:
    return {"reader": path.suffix.lower().lstrip(".")}


def run(
    work: Plan,
    options: ScanOptions,
    store: Store,
    on_saved: Callable[[Call], None] | None = None,
) -> Iterator[Outcome]:
    """Process the plan, yielding one Outcome per input as soon as it is stored."""
    yield from work.rejected
    want_analysis = analysis.analysis_key(models_dir(), options.role_settings)
    pending = [job for job in work.jobs if job.action == "transcribe"]
    again = [job for job in work.jobs if job.action == "reanalyse"]
    # Pooled re-analysis loads the analyzer in its workers; this process only needs it to transcribe.
    analyzer = _LazyAnalyzer(start=bool(pending) or (bool(again) and not _pools_reanalysis(options, len(again))))
    for job in (job for job in work.jobs if job.action == "skip"):
        store.update_metadata(job.source)
        call = store.load_call(job.source.call_id)
        if on_saved:
            on_saved(call)
        yield Outcome(Path(job.source.path), "skipped", call)
    for job in again:
        store.update_metadata(job.source)
    by_id = {job.source.call_id: job for job in again}
    for call in reanalyse(store, list(by_id), options, analyzer, want_analysis):
        if on_saved:
            on_saved(call)
        yield Outcome(Path(by_id[call.id].source.path), "reanalysed", call)
    try:
        yield from _transcribe_and_store(pending, options, store, analyzer, want_analysis, on_saved)
    finally:
        store.release()


# Below this many calls a worker pool costs more (each worker loads spaCy, ~2 s) than it saves.
POOL_MIN_CALLS = 40


def reanalyse(store: Store, call_ids: list[str], options: ScanOptions, analyzer, key: str,
              chunk: int = 100) -> Iterator[Call]:
    """Re-run roles and analysis on stored calls (no transcription), a batch of calls per parse.

    With ``options.jobs`` > 1 and enough calls, batches go to worker processes (analysis is
    CPU-bound Python and spaCy, so threads would not help); the store is only touched here.
    """
    pooled = _pools_reanalysis(options, len(call_ids))
    if pooled:  # at least two batches per worker, so that none sits idle
        chunk = min(chunk, -(-len(call_ids) // (2 * options.jobs)))
    batches = [call_ids[start : start + chunk] for start in range(0, len(call_ids), chunk)]
    if pooled:
        unfinished = yield from _reanalyse_pooled(store, batches, options, key, options.jobs)
        batches = [batches[i] for i in unfinished]  # left by a crashed worker: done in-process
    for batch in batches:
        for call in analyzer.get().analyze_many(_with_roles(store, batch, options)):
            store.save_analysis(call, key)
            yield call


def _pools_reanalysis(options: ScanOptions, calls: int) -> bool:
    return options.jobs > 1 and calls >= POOL_MIN_CALLS


def _with_roles(store: Store, call_ids: list[str], options: ScanOptions) -> list[Call]:
    calls = [store.load_call(call_id) for call_id in call_ids]
    for call in calls:
        call.role_confidence = assign_roles(call.transcript, call.source, options.rep_channel, options.rep_speaker)
    return calls


def _reanalyse_pooled(store: Store, batches: list[list[str]], options: ScanOptions, key: str, workers: int):
    """Analyse batches in worker processes; returns the indices of batches not done (none,
    unless a worker died: the caller then finishes them in-process)."""
    from concurrent.futures.process import BrokenProcessPool

    context = multiprocessing.get_context("spawn")
    executor = ProcessPoolExecutor(workers, mp_context=context, initializer=_init_analysis_worker)
    running: dict[Future, int] = {}
    finished: set[int] = set()
    try:
        for index, batch in enumerate(batches):
            running[executor.submit(_analyse_task, _with_roles(store, batch, options))] = index
            if len(running) >= workers * 2:  # two batches per worker in flight, the rest on disk
                yield from _collect(running, finished, store, key)
        while running:
            yield from _collect(running, finished, store, key)
    except BrokenProcessPool:
        log.warning("an analysis worker died; analysing the remaining calls in this process")
        _stop(executor)
        return [i for i in range(len(batches)) if i not in finished]
    except BaseException:
        _stop(executor)
        raise
    executor.shutdown(wait=True)
    return []


def _collect(running: dict, finished: set, store: Store, key: str) -> Iterator[Call]:
    done, _ = wait(running, return_when=FIRST_COMPLETED)
    for future in done:
        index = running.pop(future)
        for call in future.result():
            store.save_analysis(call, key)
            yield call
        finished.add(index)


def _init_analysis_worker() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ[WORKER_ENV] = "1"  # the workers fill the cores: no encoder beside the parse
    analysis.load_analyzer(models_dir())


def _analyse_task(calls: list[Call]) -> list[Call]:
    return analysis.load_analyzer(models_dir()).analyze_many(calls)


def _transcribe_and_store(pending, options, store, analyzer, want_analysis, on_saved):
    def claim(job: Job) -> str | None:
        return store.claim(job.source.call_id, job.key)

    for job, transcript, error in _transcribe_all(pending, options, claim):
        path = Path(job.source.path)
        if error is not None and error.startswith(NOT_CLAIMED):
            why = error[len(NOT_CLAIMED):]
            message = "stored by another run meanwhile" if why == "done" else f"being transcribed by another run (pid {why[5:]})"
            yield Outcome(path, "skipped", message=message)
            continue
        if error is not None:
            store.release(job.source.call_id)
            yield Outcome(path, "failed", message=error)
            continue
        call = _finish(job.source, transcript, options, analyzer)
        store.save_call(call, want_analysis)
        if on_saved:
            on_saved(call)
        yield Outcome(path, "ok", call, audio_seconds=transcript.duration if job.source.kind == "audio" else 0.0)


class _LazyAnalyzer:
    """Loads spaCy and the classifier in a background thread while the first call is being
    transcribed (Whisper releases the GIL), and not at all when every call is skipped."""

    def __init__(self, start: bool):
        self._loaded: analysis.Analyzer | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._load, daemon=True)
        if start:
            self._thread.start()

    def _load(self) -> None:
        try:
            self._loaded = analysis.load_analyzer(models_dir())
        except BaseException as exc:  # re-raised in the main thread, where it can be reported
            self._error = exc

    def get(self) -> analysis.Analyzer:
        if self._loaded is None:
            if self._thread.is_alive() or self._thread.ident is not None:
                self._thread.join()
            else:
                self._load()
            if self._error is not None:
                raise self._error
        return self._loaded


def _finish(source: Source, transcript: Transcript, options: ScanOptions, analyzer: _LazyAnalyzer) -> Call:
    call = Call(id=source.call_id, source=source, transcript=transcript)
    call.role_confidence = assign_roles(transcript, source, options.rep_channel, options.rep_speaker)
    return analyzer.get().analyze(call)


# -- transcription, in-process or in a pool -------------------------------------------------

_worker_threads = 0


def _init_worker(threads: int) -> None:
    global _worker_threads
    _worker_threads = threads
    # Ctrl-C goes to the whole process group; only the main process should handle it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _transcribe_one(source: Source, options: TranscribeOptions, threads: int) -> Transcript:
    if source.kind == "transcript":
        return read_transcript(source.path)
    return transcribe_file(source.path, options, cpu_threads=threads)


def _pool_task(source: Source, options: TranscribeOptions) -> tuple[Transcript | None, str | None]:
    """Runs in a worker: user errors come back as a message, not an exception."""
    try:
        return _transcribe_one(source, options, _worker_threads), None
    except CallscanError as exc:
        return None, str(exc)
    except MemoryError:
        return None, "out of memory while decoding or transcribing"


NOT_CLAIMED = "\0not-claimed:"


def _transcribe_all(jobs: list[Job], options: ScanOptions, claim) -> Iterator[tuple[Job, Transcript | None, str | None]]:
    """Transcribe jobs (claiming each first); yields (job, transcript, error) as each finishes."""
    cores = multiprocessing.cpu_count()
    audio_jobs = sum(1 for j in jobs if j.source.kind == "audio")
    workers = max(1, min(options.jobs, audio_jobs))
    threads = max(1, cores // workers)
    if workers == 1:
        for job in jobs:
            refused = claim(job)
            if refused:
                yield job, None, NOT_CLAIMED + refused
                continue
            try:
                yield job, _transcribe_one(job.source, options.transcribe, threads), None
            except CallscanError as exc:
                yield job, None, str(exc)
        return
    yield from _pooled(jobs, options.transcribe, workers, threads, claim)


def _pooled(jobs: list[Job], options: TranscribeOptions, workers: int, threads: int, claim):
    from concurrent.futures.process import BrokenProcessPool

    context = multiprocessing.get_context("spawn")  # forking a process with OpenMP threads can hang
    executor = _new_pool(context, workers, threads)
    crashes: dict[str, int] = {}  # call id -> pool crashes while it was in flight
    try:
        queue = list(jobs)
        running: dict[Future, Job] = {}
        # Keep at most 2 tasks per worker in flight so results stream in order of completion
        # and an interrupt leaves little half-done work.
        while queue or running:
            while queue and len(running) < workers * 2:
                job = queue.pop(0)
                refused = claim(job)
                if refused:
                    yield job, None, NOT_CLAIMED + refused
                    continue
                try:
                    running[executor.submit(_pool_task, job.source, options)] = job
                except BrokenProcessPool:  # the pool broke between two results
                    queue.insert(0, job)
                    break
            broken = getattr(executor, "_broken", False)
            if not running and not broken:
                continue
            done, _ = wait(running, return_when=FIRST_COMPLETED) if running else (set(), set())
            if broken or any(isinstance(f.exception(), BrokenProcessPool) for f in done):
                # A worker died (killed, out of memory, a crash in native code). Nobody knows
                # which file did it: retry everything in flight once, then give up on a file.
                yield from _after_crash(running, queue, crashes)
                _stop(executor)
                executor = _new_pool(context, workers, threads)
                continue
            for future in done:
                job = running.pop(future)
                try:
                    transcript, error = future.result()
                except Exception as exc:  # a bug in a worker: report it for this file, go on
                    transcript, error = None, f"worker failed ({type(exc).__name__}: {exc})"
                yield job, transcript, error
    except BaseException:
        _stop(executor)  # interrupted or failed: don't wait for work in flight
        raise
    executor.shutdown(wait=True)


def _new_pool(context, workers: int, threads: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker, initargs=(threads,))


def _after_crash(running: dict, queue: list[Job], crashes: dict[str, int]):
    retry = []
    for job in running.values():
        crashes[job.source.call_id] = crashes.get(job.source.call_id, 0) + 1
        if crashes[job.source.call_id] >= 2:
            yield job, None, "a transcription worker crashed twice on this file"
        else:
            retry.append(job)
    queue[:0] = retry
    running.clear()


def _stop(executor: ProcessPoolExecutor) -> None:
    processes = list((getattr(executor, "_processes", None) or {}).values())
    executor.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=5)

