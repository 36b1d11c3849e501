"""The ``callscan`` command line: parse options, call the library, report.

Exit codes (see ``errors.ExitCode``): 0 all ok, 1 some inputs failed, 2 usage error,
130 interrupted. Heavy libraries are imported inside commands so ``--help`` is instant.
"""

from __future__ import annotations

import functools
import logging
import sys
import time
from pathlib import Path

import click

from .config import DEFAULT_MODEL, ScanOptions, TranscribeOptions, default_jobs
from .errors import CallscanError, ExitCode

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class CallscanGroup(click.Group):
    """Turns our errors into one-line messages and Ctrl-C into exit 130."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except CallscanError as exc:
            if ctx.meta.get("callscan.debug"):
                raise
            raise click.ClickException(str(exc)) from None
        except OSError as exc:
            # Disk full, read-only or missing output folder: one line, not a traceback.
            if ctx.meta.get("callscan.debug"):
                raise
            where = f"{_display(Path(exc.filename))}: " if getattr(exc, "filename", None) else ""
            raise click.ClickException(f"cannot write {where}{exc.strerror or exc}") from None
        except KeyboardInterrupt:
            click.echo("\nInterrupted: finished calls are saved; run the same command again to resume.", err=True)
            ctx.exit(ExitCode.INTERRUPTED)


@click.group(cls=CallscanGroup, context_settings=CONTEXT)
@click.version_option(package_name="callscan")
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Turn recorded sales calls into objection briefings and coaching pages, offline.

    \b
    Exit codes: 0 all ok · 1 some inputs failed · 2 usage error · 130 interrupted
    """
    ctx.meta["callscan.debug"] = debug
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="%(levelname)s: %(message)s")


def transcription_options(func):
    """Options shared by every command that runs Whisper."""

    @click.option("--model", default=None, metavar="NAME|DIR",
                  help=f"CTranslate2 Whisper folder, or a faster-whisper name (base.en, small.en, distil-large-v3…) "
                       f"downloaded on request. Default: {DEFAULT_MODEL}.")
    @click.option("--device", type=click.Choice(["cpu", "cuda", "auto"]), default="cpu", show_default=True)
    @click.option("--compute-type", default="int8", show_default=True, help="int8, int8_float16, float16, float32…")
    @click.option("--beam-size", type=click.IntRange(1, 10), default=1, show_default=True)
    @click.option("--language", default="en", show_default=True, help="Language code, or 'auto' to detect.")
    @click.option("--vad/--no-vad", default=True, show_default=True, help="Skip silence with Silero VAD.")
    @click.option("--max-hours", type=click.FloatRange(min=0, min_open=True), default=8.0, show_default=True,
                  help="Refuse recordings longer than this (they are decoded into memory).")
    @functools.wraps(func)
    def wrapper(*args, model, device, compute_type, beam_size, language, vad, max_hours, **kwargs):
        kwargs["transcribe_options"] = TranscribeOptions(
            model=model, device=device, compute_type=compute_type, beam_size=beam_size,
            language=None if language == "auto" else language, vad=vad, max_hours=max_hours,
        )
        return func(*args, **kwargs)

    return wrapper


@cli.command(context_settings=CONTEXT)
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="Output folder for the briefing, call pages and JSON.")
@click.option("--db", "db_path", type=click.Path(path_type=Path, dir_okay=False),
              help="SQLite store to use (default OUT/callscan.db); share one across runs.")
@click.option("--rep-channel", type=click.Choice(["left", "right"]), default="left", show_default=True,
              help="Which channel of a dual-channel recording is the rep.")
@click.option("--rep-speaker", metavar="NAME",
              help="Speaker label that is the rep in mono calls and transcripts (e.g. 'Speaker 2', a VTT voice name).")
@click.option("-j", "--jobs", type=click.IntRange(1, 64), default=default_jobs, show_default="number of cores",
              help="Worker processes (transcription and re-analysis); each uses cores/jobs threads.")
@click.option("-s", "--silent", is_flag=True, help="No progress bar.")
@click.option("--redact/--no-redact", default=False, envvar="CALLSCAN_REDACT", show_envvar=True,
              help="Also redact personal data on call pages, call JSON and call audio (the briefing always is).")
@transcription_options
def scan(inputs, out_dir, db_path, rep_channel, rep_speaker, jobs, silent, redact, transcribe_options):
    """Transcribe and analyse calls in INPUTS (folders or files) into OUT.

    Audio (wav, mp3, m4a, ogg, opus, flac, mp4, webm) and transcripts (vtt, srt, txt, json)
    are accepted. Calls already in the store are skipped. An optional calls.csv in a
    folder gives each call's date, rep, account and stage.
    """
    from . import pipeline
    from .report.render import ReportOptions, write_call_files, write_report

    options = ScanOptions(out_dir=out_dir, db_path=db_path or out_dir / "callscan.db",
                          transcribe=transcribe_options, rep_channel=rep_channel, rep_speaker=rep_speaker, jobs=jobs)
    report = ReportOptions(out_dir=out_dir, redact=redact)
    started = time.perf_counter()
    with _open_store(options.db_path) as store:
        work = pipeline.plan(list(inputs), options, store)
        for warning in work.warnings:
            click.echo(f"warning: {warning}", err=True)
        counts = {"ok": 0, "skipped": 0, "reanalysed": 0, "failed": 0}
        audio_seconds = 0.0
        outcomes = pipeline.run(work, options, store, on_saved=lambda call: write_call_files(call, report))
        with _progress(work, silent) as bar:
            for outcome in outcomes:
                counts[outcome.status] += 1
                audio_seconds += outcome.audio_seconds
                if outcome.status == "failed":
                    _echo_above(bar, f"error: {_display(outcome.path)}: {outcome.message}")
                elif outcome.message:
                    _echo_above(bar, f"note: {_display(outcome.path)}: {outcome.message}")
                bar.update(outcome.audio_seconds if outcome.status != "failed" else 0, outcome)
        index = write_report(store, report)
    wall = time.perf_counter() - started
    click.echo(_summary(counts, audio_seconds, wall), err=True)
    click.echo(f"briefing: {index}", err=True)
    sys.exit(ExitCode.SOME_INPUTS_FAILED if counts["failed"] else ExitCode.OK)


@cli.command(context_settings=CONTEXT)
@click.argument("file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("-f", "--format", "fmt", type=click.Choice(["txt", "vtt", "srt", "json"]), default="txt", show_default=True)
@click.option("--rep-channel", type=click.Choice(["left", "right"]), default="left", show_default=True)
@transcription_options
def transcribe(file, fmt, rep_channel, transcribe_options):
    """Print one file's transcript to stdout (no store, no report)."""
    from .formats import format_transcript
    from .ingest.sources import Candidate, classify, make_source
    from .schema import Call
    from .speakers import assign_roles
    from .transcribe import transcribe_file

    kind = classify(file)
    if kind != "audio":
        raise CallscanError(f"{file.name}: not an audio file", hint="transcribe takes wav, mp3, m4a, ogg, flac, mp4…")
    source = make_source(Candidate(file, kind, None))
    transcript = transcribe_file(file, transcribe_options)
    call = Call(id=source.call_id, source=source, transcript=transcript)
    call.role_confidence = assign_roles(transcript, source, rep_channel)
    click.echo(format_transcript(call, fmt), nl=False)


@cli.command(context_settings=CONTEXT)
@click.option("--db", "db_path", type=click.Path(path_type=Path, dir_okay=False, exists=True), required=True,
              help="The SQLite store a scan wrote (OUT/callscan.db by default).")
@click.option("-o", "--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="Folder for the briefing, call pages, reps page, audio and exports.")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="First call date to include (YYYY-MM-DD).")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="Last call date to include (YYYY-MM-DD).")
@click.option("--rep", help="Only this rep's calls (case-insensitive).")
@click.option("--by", type=click.Choice(["week", "month"]), default="week", show_default=True,
              help="Period for the objection trends.")
@click.option("--template-dir", type=click.Path(path_type=Path, file_okay=False, exists=True),
              help="Folder of templates that override the built-in ones, file by file.")
@click.option("--redact/--no-redact", default=False, envvar="CALLSCAN_REDACT", show_envvar=True,
              help="Also redact personal data on call pages, call JSON and call audio (the briefing always is).")
def report(db_path, out_dir, since, until, rep, by, template_dir, redact):
    """Re-render the briefing, call pages, reps page and exports from the store, without transcribing."""
    from .report.render import ReportOptions, write_report

    if since and until and since > until:
        raise click.BadParameter("--since is after --until", param_hint="--since")
    options = ReportOptions(out_dir=out_dir, template_dir=template_dir, by=by, redact=redact)
    filters = {"since": since and since.date().isoformat(), "until": until and until.date().isoformat(), "rep": rep}
    with _open_store(db_path) as store:
        index = write_report(store, options, **filters)
        count = len(store.call_ids(**filters))
    click.echo(f"{count} calls · briefing: {index}", err=True)


@cli.command(context_settings=CONTEXT)
@click.option("--models", "models", type=click.Path(path_type=Path, file_okay=False, exists=True),
              help="Models folder (default: the repo's models/, or $CALLSCAN_MODELS).")
@click.option("--encoder", type=click.Choice(["reuse", "finetune", "none"]), default="reuse", show_default=True,
              help="The sentence encoder blended with the linear models: keep the one in model/, fine-tune a "
                   "new one (needs `pip install -e '.[train]'`, ~22 min on 2 cores), or train without it.")
@click.option("--epochs", type=click.FloatRange(min=0.01), default=3.0, show_default=True,
              help="Fine-tuning epochs (with --encoder finetune).")
@click.option("--seed", type=int, default=0, show_default=True, help="Fine-tuning seed (with --encoder finetune).")
@click.option("--layers", type=click.IntRange(1, 6), default=6, show_default=True,
              help="Transformer layers kept from MiniLM's 6 (with --encoder finetune): fewer is faster, less accurate.")
def train(models, encoder, epochs, seed, layers):
    """Rebuild the objection classifier from models/objections/data/ (train.jsonl, scored on dev.jsonl)."""
    from .config import models_dir
    from .finetune import FinetuneOptions
    from .training import train as run_training

    result = run_training((models or models_dir()) / "objections", encoder=encoder,
                          finetune_options=FinetuneOptions(epochs=epochs, seed=seed, layers=layers),
                          progress=lambda line: click.echo(line, err=True))
    click.echo(f"trained on {result.n_train} lines in {result.seconds:.1f} s (encoder: {result.encoder}) "
               f"→ {result.model_dir}", err=True)
    if result.dev:
        click.echo(_score_table(result.dev))


@cli.command("eval", context_settings=CONTEXT)
@click.argument("file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object.")
@click.option("--models", "models", type=click.Path(path_type=Path, file_okay=False, exists=True),
              help="Models folder (default: the repo's models/, or $CALLSCAN_MODELS).")
def evaluate(file, as_json, models):
    """Score the objection model on FILE.jsonl: {"text": ..., "labels": [...]} per line ([] = no objection)."""
    import json

    from .config import models_dir
    from .training import evaluate as run_eval

    result = run_eval(file, (models or models_dir()) / "objections")
    click.echo(json.dumps(result) if as_json else _score_table(result))


def _score_table(result: dict) -> str:
    lines = [f"{'category':<16}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}"]
    for category, row in result["per_category"].items():
        lines.append(f"{category:<16}{row['precision']:>10.3f}{row['recall']:>10.3f}{row['f1']:>10.3f}{row['support']:>10d}")
    micro = result["micro"]
    lines.append(f"{'micro':<16}{micro['precision']:>10.3f}{micro['recall']:>10.3f}{micro['f1']:>10.3f}{result['n']:>10d}")
    lines.append(f"macro F1 {result['macro_f1']:.3f} · false-positive rate on no-objection lines "
                 f"{result['none_false_positive_rate']:.3f} · {result['n']} lines")
    return "\n".join(lines)


def _open_store(path: Path):
    from .store import Store

    return Store(path)


class _progress:
    """A progress bar over seconds of audio to transcribe; silent when asked or not a TTY."""

    def __init__(self, work, silent: bool):
        self.enabled = not silent and sys.stderr.isatty()
        self.total_calls = len(work.jobs) + len(work.rejected)
        self.done = 0
        self.bar = None
        if self.enabled:
            self.bar = click.progressbar(
                length=max(1, int(work.total_seconds)), label=self._label(), file=sys.stderr,
                show_eta=True, show_percent=True, item_show_func=lambda o: o and o.path.name[:40],
            )

    def _label(self) -> str:
        return f"calls {self.done}/{self.total_calls}"

    def __enter__(self):
        if self.bar:
            self.bar.__enter__()
        return self

    def __exit__(self, *exc):
        if self.bar:
            self.bar.__exit__(*exc)

    def update(self, seconds: float, outcome) -> None:
        self.done += 1
        if self.bar:
            self.bar.label = self._label()
            self.bar.update(int(seconds), outcome)


def _echo_above(bar: _progress, line: str) -> None:
    if bar.enabled:
        click.echo("\r\033[K", nl=False, err=True)
    click.echo(line, err=True)


def _display(path: Path) -> str:
    """A file name that is safe to print whatever bytes it holds."""
    import os

    # Undecodable bytes in a name are shown as \xNN escapes of the bytes on disk.
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _summary(counts: dict, audio_seconds: float, wall: float) -> str:
    ok = counts["ok"] + counts["skipped"] + counts["reanalysed"]
    speed = f"{audio_seconds / wall:.1f}× real time" if audio_seconds and wall else "nothing transcribed"
    return (
        f"{ok + counts['failed']} calls: {counts['ok']} transcribed, {counts['skipped']} skipped (already done), "
        f"{counts['reanalysed']} re-analysed, {counts['failed']} failed · {audio_seconds / 3600:.2f} h audio · "
        f"{wall:.1f} s wall · {speed}"
    )


def main() -> None:
    cli(prog_name="callscan")


if __name__ == "__main__":
    main()
