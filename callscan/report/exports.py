"""Spreadsheet and JSON exports of the numbers the pages show.

CSV files are opened in Excel and Google Sheets, which run a cell starting with ``=``, ``+``,
``-`` or ``@`` as a formula; a transcript line is text a customer said, so any such cell gets
a leading apostrophe (the OWASP advice for CSV injection). Numbers are written as numbers.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any, Iterable

from .briefing import Briefing, MentionGroup
from .files import write_atomic
from .views import CallDigest

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CALL_COLUMNS = ["call", "file", "date", "rep", "account", "stage", "duration_seconds", "channels", "roles_known",
                "role_confidence", "rep_talk_share", "rep_questions", "customer_questions", "longest_rep_monologue",
                "longest_customer_story", "switches_per_minute", "objections", "tracker_hits"]


def safe_cell(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula gets a leading ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_text(header: list[str], rows: Iterable[list[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180, what spreadsheets expect
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell("" if v is None else v) for v in row])
    return buffer.getvalue()


def objection_rows(calls: list[CallDigest]) -> Iterable[list[Any]]:
    for call in calls:
        for o in call.objections:
            yield [call.id, call.date, call.rep, o.get("category"), o.get("text", ""), o.get("start"),
                   o.get("end"), o.get("confidence"), bool(o.get("attributed", True))]


def call_rows(calls: list[CallDigest]) -> Iterable[list[Any]]:
    for c in calls:
        m = c.metrics
        yield [c.id, c.name, c.date, c.rep, c.account, c.stage, round(c.duration, 1), c.channels, c.roles_known,
               c.role_confidence, m.get("rep_talk_share"), m.get("rep_questions"), m.get("customer_questions"),
               m.get("longest_rep_monologue"), m.get("longest_customer_story"), m.get("switches_per_minute"),
               m.get("objections"), sum((m.get("tracker_counts") or {}).values())]


def summary(briefing: Briefing) -> dict[str, Any]:
    """The briefing's numbers, for a dashboard or a spreadsheet; no paths, no transcripts."""
    return {
        "period": {"first": briefing.first, "last": briefing.last, "by": briefing.by, **briefing.filters},
        "calls": briefing.total,
        "hours_of_audio": round(briefing.hours, 3),
        "reps": briefing.reps,
        "calls_with_known_roles": briefing.attributed_calls,
        "calls_with_unknown_roles": briefing.unattributed_calls,
        "undated_calls": briefing.undated_calls,
        "objections": [
            {
                "category": card.info.id, "label": card.info.label, "calls": card.calls,
                "attributed_calls": card.attributed_calls, "share": round(card.share, 4), "times": card.times,
                "trend": [{"period": col.label, "calls": col.value, "calls_in_period": col.base}
                          for col in card.trend.columns],
                "change_vs_previous": card.trend.change,
                "quotes": [{"call": q.call.id, "text": q.text, "start": q.start, "attributed": q.attributed}
                           for q in card.quotes],
            }
            for card in briefing.cards
        ],
        "competitors": [_group(g) for g in briefing.competitors],
        "triggers": [_group(g) for g in briefing.triggers],
        "channels": [_group(g) for g in briefing.channels],
        "top_phrases": [{"phrase": p["text"], "calls": p["calls"], "times": p["count"]} for p in briefing.phrases],
    }


def _group(group: MentionGroup) -> dict[str, Any]:
    out: dict[str, Any] = {"value": group.value, "calls": group.calls, "times": group.times}
    if group.contexts:
        out["contexts"] = group.contexts
    return out


def write_exports(out_dir: Path, calls: list[CallDigest], briefing: Briefing) -> None:
    header = ["call", "date", "rep", "category", "quote", "start", "end", "confidence", "attributed"]
    write_atomic(out_dir / "objections.csv", csv_text(header, objection_rows(calls)))
    write_atomic(out_dir / "calls.csv", csv_text(CALL_COLUMNS, call_rows(calls)))
    write_atomic(out_dir / "summary.json", json.dumps(summary(briefing), indent=2, ensure_ascii=False) + "\n")
