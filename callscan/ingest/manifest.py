"""``calls.csv``: per-call metadata, with fallbacks for calls it does not list.

Columns ``file, date, rep, account, stage`` are known; any other column is kept in ``meta``.
A call's date comes from the manifest, else an ISO date in the file name, else the file's
modification time — so every call has a date.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError

log = logging.getLogger(__name__)

KNOWN_COLUMNS = ("file", "date", "rep", "account", "stage")
_NAME_DATE = re.compile(r"(?<!\d)(20\d\d)[-_.]?(0[1-9]|1[0-2])[-_.]?(0[1-9]|[12]\d|3[01])(?!\d)")


@dataclass
class ManifestRow:
    date: str | None = None
    rep: str | None = None
    account: str | None = None
    stage: str | None = None
    meta: dict[str, str] = field(default_factory=dict)


@dataclass
class Manifest:
    rows: dict[str, ManifestRow] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def lookup(self, path: Path) -> ManifestRow | None:
        return self.rows.get(path.name) or self.rows.get(path.stem)


def read_manifest(path: Path) -> Manifest:
    """Read a calls.csv; bad rows are reported in ``problems`` and skipped, never fatal."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{path.name} is not UTF-8 text") from None
    except OSError as exc:
        raise InputError(f"cannot read {path.name} ({exc.strerror})") from None
    return parse_manifest(text)


def parse_manifest(text: str) -> Manifest:
    manifest = Manifest()
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in (reader.fieldnames or []) if h]
    except csv.Error as exc:
        raise InputError(f"calls.csv cannot be parsed ({exc})") from None
    if "file" not in header:
        raise InputError("calls.csv has no 'file' column", hint="first line must name the columns: file,date,rep,...")
    try:
        for line_no, raw in enumerate(reader, start=2):
            _add_row(manifest, line_no, raw)
    except csv.Error as exc:
        manifest.problems.append(f"calls.csv: stopped reading at a malformed line ({exc})")
    return manifest


def _add_row(manifest: Manifest, line_no: int, raw: dict) -> None:
    row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items() if isinstance(v, str)}
    name = row.get("file", "")
    if not name:
        manifest.problems.append(f"calls.csv line {line_no}: no file name; row ignored")
        return
    date = row.get("date") or None
    if date:
        try:
            day = dt.date.fromisoformat(date[:10])
            date = day.isoformat()
            if day > dt.date.today():
                manifest.problems.append(f"calls.csv line {line_no}: date {date} is in the future; kept as given")
        except ValueError:
            manifest.problems.append(f"calls.csv line {line_no}: date {date[:30]!r} is not YYYY-MM-DD; using the fallback")
            date = None
    manifest.rows[Path(name).name] = ManifestRow(
        date=date,
        rep=row.get("rep") or None,
        account=row.get("account") or None,
        stage=row.get("stage") or None,
        meta={k: v for k, v in row.items() if k and k not in KNOWN_COLUMNS and v},
    )


def date_from_name(name: str) -> str | None:
    match = _NAME_DATE.search(name)
    if not match:
        return None
    try:
        return dt.date(int(match.group(1)), int(match.group(2)), int(match.group(3))).isoformat()
    except ValueError:
        return None


def date_from_mtime(path: Path) -> str:
    return dt.date.fromtimestamp(path.stat().st_mtime).isoformat()
