"""Render the report from the store: briefing, call pages, reps page, audio and exports.

Rendering reads only stored calls, so any period can be re-rendered without transcribing.
It makes two passes: the first keeps a light digest of every call (no words) to build the
briefing; the second loads one call at a time to write its page, audio copy and the clips
the briefing quotes, so memory stays flat however many calls the period holds.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..schema import Call
from ..store import Store
from .briefing import Briefing, build_briefing
from .callpage import build_call_page
from ..redact import redact_call
from .clips import AudioResult, ClipRequest, Muting, render_audio
from .exports import write_exports
from .files import write_atomic
from .reps import build_reps
from .views import CallDigest, Config, clock, digest, load_config, nice_date

__all__ = ["ReportOptions", "write_atomic", "environment", "write_call_files", "write_report", "clock"]


@dataclass(frozen=True)
class ReportOptions:
    """Where and how to render."""

    out_dir: Path
    template_dir: Path | None = None  # templates here override the built-in ones, file by file
    by: str = "week"  # trend periods: week | month
    audio: bool = True  # write the call's audio copy and quote clips
    redact: bool = False  # redact call pages, call JSON and the call's audio too (the briefing always is)


@lru_cache(maxsize=4)
def environment(template_dir: Path | None = None):
    """Package templates, optionally overridden file by file from a user's folder."""
    import jinja2

    loaders = [jinja2.PackageLoader("callscan", "templates")]
    if template_dir is not None:
        loaders.insert(0, jinja2.FileSystemLoader(str(template_dir)))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["clock"] = clock
    env.filters["nicedate"] = nice_date
    env.filters["pct"] = lambda share: f"{(share or 0):.0%}"
    env.globals["player_script"] = lambda: _script(env)
    return env


def _script(env) -> dict:
    """The call page's script and its CSP hash, so the page runs our script and no other."""
    text = env.get_template("_player.js").render()
    digest_ = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")
    return {"text": text, "hash": f"sha256-{digest_}"}


def _render(options: ReportOptions, template: str, **context) -> str:
    return environment(options.template_dir).get_template(template).render(**context)


# -- one call ---------------------------------------------------------------------------------


def write_call_files(call: Call, options: ReportOptions, config: Config | None = None,
                     keywords: list[dict] | None = None, clips: list[ClipRequest] | None = None) -> AudioResult:
    """The call's JSON, its audio copy and clips, and its page.

    ``scan`` calls this as each call finishes, before other calls are known; its key phrases
    are then ranked within the call alone, and the full render at the end re-ranks them.
    Quote clips are always muted where personal data was said; with ``redact`` the page, the
    JSON and the call's audio are redacted too.
    """
    redacted, spans = redact_call(call)
    if options.redact:
        call = redacted
    muting = Muting(tuple(spans), call_copy=options.redact)
    calls_dir = options.out_dir / "calls"
    if keywords is None:
        from ..analyze.keywords import rank_key_phrases

        keywords = rank_key_phrases({call.id: call.keywords})[call.id]
    data = call.to_json()
    data["keywords"] = keywords  # ranked against every call in the report (within the call during a scan)
    write_atomic(calls_dir / f"{call.id}.json", json.dumps(data, indent=2, ensure_ascii=False))
    audio = _audio(call, options, clips or [], muting)
    page = build_call_page(call, config or load_config(), keywords, audio)
    write_atomic(calls_dir / f"{call.id}.html", _render(options, "call.html", page=page, root="../", redacted=options.redact))
    return audio


def _audio(call: Call, options: ReportOptions, clips: list[ClipRequest], muting: Muting) -> AudioResult:
    if not options.audio:
        return AudioResult(note="audio not rendered")
    return render_audio(options.out_dir, call.id, call.source.kind, call.source.path, clips, muting)


# -- the whole report ---------------------------------------------------------------------------


def write_report(store: Store, options: ReportOptions, since: str | None = None, until: str | None = None,
                 rep: str | None = None) -> Path:
    """Render every page and export for the calls in the period; returns the briefing's path."""
    from ..analyze.keywords import rank_key_phrases

    config = load_config()
    # The briefing and its exports are built from redacted calls, whatever --redact says:
    # marketers forward it, so personal data never reaches it.
    calls = [digest(redact_call(call)[0]) for call in store.iter_calls(since=since, until=until, rep=rep)]
    briefing = build_briefing(calls, config, options.by, since, until, rep)
    ranked = rank_key_phrases({c.id: c.keywords for c in calls})
    wanted = briefing.clip_requests()
    made: dict[ClipRequest, str] = {}
    for summary in calls:  # second pass: one transcript in memory at a time
        audio = write_call_files(store.load_call(summary.id), options, config, ranked.get(summary.id, []),
                                 wanted.get(summary.id, []))
        made.update(audio.clips)
    _attach_clips(briefing, made)
    return _write_pages(options, calls, briefing, config)


def _attach_clips(briefing: Briefing, made: dict[ClipRequest, str]) -> None:
    for card in briefing.cards:
        for quote in card.quotes:
            if quote.clip is None:
                continue
            quote.clip_href = made.get(quote.clip)
            if quote.clip_href is None:
                quote.audio_note = "audio not available"


def _write_pages(options: ReportOptions, calls: list[CallDigest], briefing: Briefing, config: Config) -> Path:
    out = options.out_dir
    write_atomic(out / "reps.html", _render(options, "reps.html", page=build_reps(calls, config), root=""))
    write_exports(out, calls, briefing)
    index = out / "index.html"
    write_atomic(index, _render(options, "index.html", page=briefing, root=""))
    return index
