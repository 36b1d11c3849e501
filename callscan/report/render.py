"""Render outputs from the store: ``calls/<id>.json``, ``calls/<id>.html`` and ``index.html``.

Rendering reads only stored calls, so any period can be re-rendered without touching audio.
Every file is written to a temporary name and renamed, so a crash never leaves a half page
that looks complete.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from ..schema import Call


@dataclass(frozen=True)
class ReportOptions:
    out_dir: Path
    template_dir: Path | None = None


def write_atomic(path: Path, content: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = content.encode("utf-8") if isinstance(content, str) else content
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
    env.filters["minutes"] = lambda seconds: f"{(seconds or 0) / 60:.1f}"
    return env


def clock(seconds: float | None) -> str:
    seconds = int(seconds or 0)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def write_call_files(call: Call, options: ReportOptions) -> None:
    """The per-call JSON and HTML page."""
    calls_dir = options.out_dir / "calls"
    write_atomic(calls_dir / f"{call.id}.json", json.dumps(call.to_json(), indent=2, ensure_ascii=False))
    page = environment(options.template_dir).get_template("call.html").render(call=call, data=call.to_json())
    write_atomic(calls_dir / f"{call.id}.html", page)


def write_index(calls: Iterable[Call], options: ReportOptions) -> Path:
    calls = list(calls)
    totals = {
        "calls": len(calls),
        "hours": sum(c.transcript.duration for c in calls if c.source.kind == "audio") / 3600,
        "reps": sorted({c.source.rep for c in calls if c.source.rep}),
        "with_roles": sum(1 for c in calls if any(s.role != "unknown" for s in c.transcript.segments)),
        "first": min((c.source.date for c in calls if c.source.date), default=None),
        "last": max((c.source.date for c in calls if c.source.date), default=None),
    }
    page = environment(options.template_dir).get_template("index.html").render(calls=calls, totals=totals)
    path = options.out_dir / "index.html"
    write_atomic(path, page)
    return path
