"""The SQLite store: one row per recording, its segments, and the analysis of it.

A call is written in one transaction the moment it is finished, so killing a batch loses
nothing already done. ``transcript_key`` (content hash + model + settings) decides whether a
re-run may skip transcription; ``analysis_key`` decides whether analysis must be redone.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sqlite3
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Iterator

from .errors import CallscanError
from .schema import Call, Segment, Source, Transcript

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS calls (
    id TEXT PRIMARY KEY,
    content_hash TEXT NOT NULL UNIQUE,
    source_name TEXT NOT NULL,
    source_path TEXT NOT NULL,
    kind TEXT NOT NULL,
    size INTEGER NOT NULL,
    date TEXT,
    date_source TEXT,
    rep TEXT,
    account TEXT,
    stage TEXT,
    meta_json TEXT NOT NULL DEFAULT '{}',
    duration REAL NOT NULL,
    speech_seconds REAL,
    language TEXT,
    channels TEXT NOT NULL,
    model TEXT,
    settings_json TEXT NOT NULL DEFAULT '{}',
    timings_json TEXT NOT NULL DEFAULT '{}',
    transcript_key TEXT NOT NULL,
    role_confidence REAL,
    analysis_key TEXT,
    analysis_json TEXT NOT NULL DEFAULT '{}',
    updated_at TEXT NOT NULL DEFAULT (datetime('now'))
);
CREATE INDEX IF NOT EXISTS calls_date ON calls(date);
CREATE TABLE IF NOT EXISTS segments (
    call_id TEXT NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    start REAL NOT NULL,
    "end" REAL NOT NULL,
    speaker TEXT NOT NULL,
    role TEXT NOT NULL,
    channel INTEGER,
    text TEXT NOT NULL,
    words_json TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (call_id, idx)
);
CREATE TABLE IF NOT EXISTS objections (
    call_id TEXT NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    category TEXT NOT NULL,
    confidence REAL NOT NULL,
    text TEXT NOT NULL,
    start REAL,
    "end" REAL,
    speaker TEXT,
    attributed INTEGER NOT NULL,
    PRIMARY KEY (call_id, idx, category)
);
CREATE INDEX IF NOT EXISTS objections_category ON objections(category);
CREATE TABLE IF NOT EXISTS claims (
    call_id TEXT PRIMARY KEY,
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    claimed_at REAL NOT NULL
);
"""

ANALYSIS_FIELDS = ("objections", "keywords", "mentions", "trackers", "metrics")


def transcript_key(source: Source, model: str | None, settings: dict[str, Any]) -> str:
    blob = json.dumps([source.content_hash, model, settings], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


class Store:
    """A thin, typed wrapper over one SQLite file."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(str(self.path), timeout=60, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise CallscanError(
                f"{self.path} is not a usable callscan database ({exc})",
                hint="point --db at a new file or move the damaged one away",
            ) from None
        except OSError as exc:
            raise CallscanError(f"cannot open database {self.path} ({exc.strerror or exc})") from None

    def _migrate(self) -> None:
        self.db.executescript(_SCHEMA)
        row = self.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if row is None:
            self.db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        elif int(row[0]) > SCHEMA_VERSION:
            raise CallscanError(f"{self.path} was written by a newer callscan", hint="upgrade callscan")

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- cache checks -------------------------------------------------------------------

    def status(self, call_id: str) -> tuple[str, str | None] | None:
        """(transcript_key, analysis_key) stored for a call, or None if it was never stored."""
        return self.db.execute("SELECT transcript_key, analysis_key FROM calls WHERE id=?", (call_id,)).fetchone()

    def update_metadata(self, source: Source) -> bool:
        """Refresh date/rep/account/stage from a newer manifest without touching the transcript."""
        cur = self.db.execute(
            """UPDATE calls SET date=?, date_source=?, rep=?, account=?, stage=?, meta_json=?, source_path=?,
               updated_at=datetime('now')
               WHERE id=? AND (date IS NOT ? OR rep IS NOT ? OR account IS NOT ? OR stage IS NOT ?
                               OR meta_json IS NOT ? OR source_path IS NOT ?)""",
            (
                source.date, source.date_source, source.rep, source.account, source.stage,
                json.dumps(source.meta, sort_keys=True), source.path, source.call_id,
                source.date, source.rep, source.account, source.stage,
                json.dumps(source.meta, sort_keys=True), source.path,
            ),
        )
        return cur.rowcount > 0

    # -- claims: two runs on one store never transcribe the same call ------------------

    def claim(self, call_id: str, key: str) -> str | None:
        """Claim a call for transcription. Returns None when claimed, else why it is not ours:
        "done" (another run stored it meanwhile) or "busy:<pid>" (another live run has it)."""
        with self._transaction():
            stored = self.db.execute("SELECT transcript_key FROM calls WHERE id=?", (call_id,)).fetchone()
            if stored and stored[0] == key:
                return "done"
            row = self.db.execute("SELECT pid, host FROM claims WHERE call_id=?", (call_id,)).fetchone()
            if row and (row[0], row[1]) != (os.getpid(), _HOST) and _alive(row[0], row[1]):
                return f"busy:{row[0]}"
            self.db.execute("INSERT OR REPLACE INTO claims VALUES (?,?,?,?)", (call_id, os.getpid(), _HOST, time.time()))
        return None

    def release(self, call_id: str | None = None) -> None:
        """Drop this process's claim on one call, or on all calls."""
        if call_id is None:
            self.db.execute("DELETE FROM claims WHERE pid=? AND host=?", (os.getpid(), _HOST))
        else:
            self.db.execute("DELETE FROM claims WHERE call_id=? AND pid=? AND host=?", (call_id, os.getpid(), _HOST))

    # -- writing ----------------------------------------------------------------------

    def save_call(self, call: Call, analysis_key: str | None) -> None:
        """Write a finished call, its segments and objections in one transaction."""
        src, tr = call.source, call.transcript
        key = transcript_key(src, tr.model, tr.settings)
        with self._transaction():
            self.db.execute("DELETE FROM calls WHERE id=? OR content_hash=?", (call.id, src.content_hash))
            self.db.execute(
                """INSERT INTO calls (id, content_hash, source_name, source_path, kind, size, date, date_source,
                   rep, account, stage, meta_json, duration, speech_seconds, language, channels, model,
                   settings_json, timings_json, transcript_key, role_confidence, analysis_key, analysis_json)
                   VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""",
                (
                    call.id, src.content_hash, src.name, src.path, src.kind, src.size, src.date, src.date_source,
                    src.rep, src.account, src.stage, json.dumps(src.meta, sort_keys=True), tr.duration,
                    tr.speech_seconds, tr.language, tr.channels, tr.model, json.dumps(tr.settings, sort_keys=True),
                    json.dumps(tr.timings), key, call.role_confidence, analysis_key, self._analysis_json(call),
                ),
            )
            self.db.executemany(
                'INSERT INTO segments (call_id, idx, start, "end", speaker, role, channel, text, words_json) '
                "VALUES (?,?,?,?,?,?,?,?,?)",
                [
                    (call.id, i, s.start, s.end, s.speaker, s.role, s.channel, s.text,
                     json.dumps([asdict(w) for w in s.words]))
                    for i, s in enumerate(tr.segments)
                ],
            )
            self._save_objections(call)
            self.db.execute("DELETE FROM claims WHERE call_id=?", (call.id,))

    def save_analysis(self, call: Call, analysis_key: str | None) -> None:
        """Replace only the analysis (and roles) of a stored call: no re-transcription."""
        with self._transaction():
            self.db.execute(
                "UPDATE calls SET analysis_key=?, analysis_json=?, role_confidence=?, updated_at=datetime('now') WHERE id=?",
                (analysis_key, self._analysis_json(call), call.role_confidence, call.id),
            )
            self.db.executemany(
                "UPDATE segments SET speaker=?, role=? WHERE call_id=? AND idx=?",
                [(s.speaker, s.role, call.id, i) for i, s in enumerate(call.transcript.segments)],
            )
            self.db.execute("DELETE FROM objections WHERE call_id=?", (call.id,))
            self._save_objections(call)

    def _save_objections(self, call: Call) -> None:
        self.db.executemany(
            'INSERT OR REPLACE INTO objections (call_id, idx, category, confidence, text, start, "end", speaker, attributed) '
            "VALUES (?,?,?,?,?,?,?,?,?)",
            [
                (call.id, i, o["category"], o.get("confidence", 0.0), o.get("text", ""), o.get("start"),
                 o.get("end"), o.get("speaker"), int(bool(o.get("attributed", True))))
                for i, o in enumerate(call.objections)
            ],
        )

    @staticmethod
    def _analysis_json(call: Call) -> str:
        return json.dumps({name: getattr(call, name) for name in ANALYSIS_FIELDS})

    def _transaction(self):
        return _Transaction(self.db)

    # -- reading ----------------------------------------------------------------------

    def call_ids(self, since: str | None = None, until: str | None = None, rep: str | None = None) -> list[str]:
        query = "SELECT id FROM calls WHERE 1=1"
        params: list[Any] = []
        if since:
            query += " AND date >= ?"
            params.append(since)
        if until:
            query += " AND date <= ?"
            params.append(until)
        if rep:
            query += " AND lower(rep) = lower(?)"
            params.append(rep)
        query += " ORDER BY date, source_name"
        return [row[0] for row in self.db.execute(query, params)]

    def load_call(self, call_id: str) -> Call:
        self.db.row_factory = sqlite3.Row
        try:
            row = self.db.execute("SELECT * FROM calls WHERE id=?", (call_id,)).fetchone()
            if row is None:
                raise KeyError(call_id)
            segments = [
                Segment.from_dict({**dict(s), "words": json.loads(s["words_json"])})
                for s in self.db.execute('SELECT * FROM segments WHERE call_id=? ORDER BY idx', (call_id,))
            ]
        finally:
            self.db.row_factory = None
        return _call_from_row(row, segments)

    def iter_calls(self, **filters) -> Iterator[Call]:
        for call_id in self.call_ids(**filters):
            yield self.load_call(call_id)

    def count(self) -> int:
        return self.db.execute("SELECT count(*) FROM calls").fetchone()[0]


def _call_from_row(row: sqlite3.Row, segments: list[Segment]) -> Call:
    source = Source(
        path=row["source_path"], name=row["source_name"], kind=row["kind"], content_hash=row["content_hash"],
        size=row["size"], date=row["date"], date_source=row["date_source"], rep=row["rep"],
        account=row["account"], stage=row["stage"], meta=json.loads(row["meta_json"]),
    )
    transcript = Transcript(
        segments=segments, duration=row["duration"], language=row["language"], channels=row["channels"],
        model=row["model"], settings=json.loads(row["settings_json"]), speech_seconds=row["speech_seconds"],
        timings=json.loads(row["timings_json"]),
    )
    analysis = json.loads(row["analysis_json"] or "{}")
    return Call(
        id=row["id"], source=source, transcript=transcript, role_confidence=row["role_confidence"],
        **{name: analysis.get(name, {} if name == "metrics" else []) for name in ANALYSIS_FIELDS},
    )


_HOST = socket.gethostname()


def _alive(pid: int, host: str) -> bool:
    """Whether the claiming process still runs (a claim from another host is trusted)."""
    if host != _HOST:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _Transaction:
    """BEGIN IMMEDIATE … COMMIT, rolled back on any error (the connection is in autocommit)."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self):
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type, exc, tb):
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")
        return False
