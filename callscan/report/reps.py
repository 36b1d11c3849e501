"""Per-rep coaching numbers, each next to the team's.

Every number is a median over calls (the rep's calls, and all of the team's calls), so one
unusual call cannot make a rep look better or worse than their normal. Numbers that depend
on knowing who spoke use only calls where speaker roles are known, and say how many.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Callable

from markupsafe import Markup

from . import charts
from .views import CallDigest, Config, clock, median

NO_REP = "No rep recorded"


@dataclass(frozen=True)
class Measure:
    """One per-call number a rep is compared on."""

    key: str
    label: str
    per_call: Callable[[CallDigest, Config], float | None]  # None: not measurable on that call
    show: Callable[[float], str]
    needs_roles: bool = True


@dataclass(frozen=True)
class Cell:
    value: str
    team: str
    chart: Markup
    calls: int  # calls the rep's number is based on


@dataclass
class RepRow:
    name: str
    calls: list[CallDigest]
    cells: list[Cell]

    @property
    def role_calls(self) -> int:
        return sum(1 for c in self.calls if c.roles_known)


@dataclass
class RepsPage:
    measures: list[Measure]
    rows: list[RepRow]
    team: list[str]
    total_calls: int
    role_calls: int


def _talk_share(call: CallDigest, _: Config) -> float | None:
    return call.metrics.get("rep_talk_share")


def _metric(key: str) -> Callable[[CallDigest, Config], float | None]:
    return lambda call, _: call.metrics.get(key)


def tracker_adherence(call: CallDigest, config: Config) -> float | None:
    """Share of the rep's trackers (``who: rep``) said at least once in the call."""
    names = [t.name for t in config.trackers.values() if t.who == "rep"]
    counts = call.metrics.get("tracker_counts") or {}
    if not names:
        return None
    return sum(1 for n in names if counts.get(n, 0) > 0) / len(names)


MEASURES = [
    Measure("talk", "Rep talk share", _talk_share, lambda v: f"{v:.0%}"),
    Measure("questions", "Questions per call", _metric("rep_questions"), lambda v: f"{v:g}"),
    Measure("monologue", "Longest monologue", _metric("longest_rep_monologue"), clock),
    Measure("objections", "Objections met per call", _metric("objections"), lambda v: f"{v:g}", needs_roles=False),
    Measure("trackers", "Tracker adherence", tracker_adherence, lambda v: f"{v:.0%}"),
]


def build_reps(calls: list[CallDigest], config: Config) -> RepsPage:
    by_rep: dict[str, list[CallDigest]] = defaultdict(list)
    for call in calls:
        by_rep[call.rep or NO_REP].append(call)
    team = [_values(calls, m, config) for m in MEASURES]
    scales = [_scale([calls, *by_rep.values()], m, config) for m in MEASURES]
    rows = [RepRow(name, group, [_cell(group, m, config, t, s) for m, t, s in zip(MEASURES, team, scales)])
            for name, group in sorted(by_rep.items(), key=lambda kv: (kv[0] == NO_REP, kv[0].lower()))]
    return RepsPage(MEASURES, rows, [_show(median(t), m) for m, t in zip(MEASURES, team)], len(calls),
                    sum(1 for c in calls if c.roles_known))


def _scale(groups: list[list[CallDigest]], measure: Measure, config: Config) -> float:
    """The longest bar any row will draw, so bars compare across reps; shares are out of 100%."""
    if measure.key in ("talk", "trackers"):
        return 1.0
    medians = [median(_values(group, measure, config)) for group in groups]
    return max([m for m in medians if m is not None] + [0.0]) or 1.0


def _values(calls: list[CallDigest], measure: Measure, config: Config) -> list[float]:
    out = []
    for call in calls:
        if measure.needs_roles and not call.roles_known:
            continue
        value = measure.per_call(call, config)
        if value is not None:
            out.append(float(value))
    return out


def _cell(calls: list[CallDigest], measure: Measure, config: Config, team: list[float], scale: float) -> Cell:
    values = _values(calls, measure, config)
    mine, theirs = median(values), median(team)
    shown, team_shown = _show(mine, measure), _show(theirs, measure)
    chart = charts.versus_team(mine, theirs, scale, measure.label, shown, team_shown)
    return Cell(shown, team_shown, chart, len(values))


def _show(value: float | None, measure: Measure) -> str:
    return "—" if value is None else measure.show(value)
