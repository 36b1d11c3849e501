"""Inline SVG charts, drawn here so pages need no JavaScript library and work offline.

Every chart is an ``<svg role="img">`` with an ``aria-label``, a ``<title>`` and a ``<desc>``
that state the numbers in words, and every bar carries its number as visible text, so the
chart reads the same to a screen reader, on paper and on screen. All text goes through
``escape``: labels come from user files (taxonomy, manifest) and must never become markup.
"""

from __future__ import annotations

from dataclasses import dataclass
import hashlib

from markupsafe import Markup, escape

INK = "#1d2330"
MUTED = "#5b6474"
BAR = "#1f5fbf"  # 6.1:1 on white
TRACK = "#e9edf3"
PAST = "#7386a6"  # 3.6:1 on white: earlier periods, visible but quieter than BAR
TEAM = "#1d2330"



def _uid(*text: str) -> str:
    """An id for <title>/<desc> that is unique per chart on a page and the same on every
    render, so re-rendering an unchanged period gives byte-identical files."""
    return hashlib.blake2s("\x1f".join(text).encode(), digest_size=5).hexdigest()


@dataclass(frozen=True)
class Bar:
    label: str
    solid: int  # part of the bar drawn solid (e.g. calls where the customer is known)
    hatched: int  # part drawn hatched (e.g. calls where the speaker is unknown)
    total: int  # what the bar is a share of


def bar_chart(bars: list[Bar], title: str, desc: str) -> Markup:
    """Horizontal bars, one row per item: label and number above a full-width bar.

    Bars are sized in percent of the chart's width and text in pixels (no viewBox), so the
    chart fills any screen while its words stay readable on a phone.
    """
    row, top = 46, 4
    height = top + row * len(bars)
    uid = _uid(title, desc, repr(bars))
    parts = [_open_fluid(height, title, desc, uid), _hatch(uid)]
    for i, bar in enumerate(bars):
        parts.append(_bar_row(bar, top + i * row, uid))
    parts.append("</svg>")
    return Markup("".join(parts))


def _bar_row(bar: Bar, y: int, uid: str) -> str:
    share = (bar.solid + bar.hatched) / bar.total if bar.total else 0.0
    solid = 100 * bar.solid / bar.total if bar.total else 0.0
    hatched = 100 * bar.hatched / bar.total if bar.total else 0.0
    number = f"{bar.solid + bar.hatched} of {bar.total} calls · {share:.0%}"
    return (
        f'<g><text x="0" y="{y + 15}" font-size="15" font-weight="600" fill="{INK}">{escape(bar.label)}</text>'
        f'<text x="100%" y="{y + 15}" font-size="14" fill="{INK}" text-anchor="end">'
        f"{escape(number)}</text>"
        f'<rect x="0" y="{y + 22}" width="100%" height="14" rx="3" fill="{TRACK}"/>'
        f'<rect x="0" y="{y + 22}" width="{solid:.2f}%" height="14" rx="3" fill="{BAR}"/>'
        f'<rect x="{solid:.2f}%" y="{y + 22}" width="{hatched:.2f}%" height="14" '
        f'fill="url(#hatch{uid})" stroke="{BAR}" stroke-width="1"/></g>'
    )


def _hatch(uid: str) -> str:
    return (
        f'<defs><pattern id="hatch{uid}" width="6" height="6" patternUnits="userSpaceOnUse" '
        f'patternTransform="rotate(45)"><rect width="6" height="6" fill="#fff"/>'
        f'<rect width="3" height="6" fill="{BAR}"/></pattern></defs>'
    )


@dataclass(frozen=True)
class Column:
    label: str  # e.g. "week of 12 Oct"
    value: int
    base: int  # calls in that period, so 0 of 0 is not mistaken for 0 of 5


def mini_columns(columns: list[Column], title: str) -> Markup:
    """A small column chart for a trend: one column per period, the last one highlighted."""
    width, height, gap = 132, 36, 2
    n = max(1, len(columns))
    step = width / n
    peak = max([c.value for c in columns] + [1])
    words = "; ".join(f"{c.label}: {c.value} of {c.base} calls" for c in columns)
    uid = _uid(title, words)
    parts = [_open(width, height, title, words, uid, css="spark")]
    for i, col in enumerate(columns):
        h = max(1.5, (height - 2) * col.value / peak) if col.value else 1.0
        colour = BAR if i == len(columns) - 1 else PAST  # the latest period stands out
        tip = escape(f"{col.label}: {col.value} of {col.base} calls")
        parts.append(
            f'<rect x="{i * step + gap / 2:.1f}" y="{height - h:.1f}" width="{max(1.0, step - gap):.1f}" '
            f'height="{h:.1f}" fill="{colour if col.value else "#c9d1dd"}"><title>{tip}</title></rect>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def split_bar(left: float, right: float, left_label: str, right_label: str, title: str) -> Markup:
    """One 100% bar split in two (talk time rep vs customer), with both shares written on it."""
    width, height = 320, 28
    total = left + right
    share = left / total if total else 0.0
    w = width * share
    desc = f"{left_label} {share:.0%}, {right_label} {1 - share:.0%}"
    uid = _uid(title, desc)
    return Markup(
        _open(width, height, title, desc, uid, css="split")
        + f'<rect x="0" y="0" width="{w:.1f}" height="{height}" fill="{BAR}"/>'
        + f'<rect x="{w:.1f}" y="0" width="{width - w:.1f}" height="{height}" fill="#a4360f"/>'
        + _split_text(6, "start", f"{left_label} {share:.0%}", w >= 90)
        + _split_text(width - 6, "end", f"{right_label} {1 - share:.0%}", width - w >= 90)
        + "</svg>"
    )


def _split_text(x: float, anchor: str, text: str, fits: bool) -> str:
    if not fits:  # the words are in <desc> and in the table next to the chart
        return ""
    return (f'<text x="{x}" y="19" font-size="13" font-weight="600" fill="#fff" text-anchor="{anchor}">'
            f"{escape(text)}</text>")


def versus_team(value: float | None, team: float | None, scale: float, title: str, shown: str,
                team_shown: str) -> Markup:
    """A rep's number as a bar with a tick where the team median sits."""
    width, height = 150, 22
    desc = f"{shown}; team median {team_shown}"
    uid = _uid(title, desc)
    scale = scale or 1.0
    parts = [_open(width, height, title, desc, uid, css="versus"),
             f'<rect x="0" y="6" width="{width}" height="10" rx="2" fill="{TRACK}"/>']
    if value is not None:
        parts.append(f'<rect x="0" y="6" width="{width * min(value / scale, 1):.1f}" height="10" rx="2" fill="{BAR}"/>')
    if team is not None:
        x = min(width - 1.5, max(1.5, width * min(team / scale, 1)))
        parts.append(f'<rect x="{x - 1.5:.1f}" y="1" width="3" height="20" fill="{TEAM}"/>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _open_fluid(height: int, title: str, desc: str, uid: str) -> str:
    t, d = escape(title), escape(desc)
    return (
        f'<svg class="chart" role="img" width="100%" height="{height}" aria-labelledby="c{uid}t c{uid}d" '
        f'aria-label="{t}" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="c{uid}t">{t}</title><desc id="c{uid}d">{d}</desc>'
    )


def _open(width: int, height: int, title: str, desc: str, uid: str, css: str = "chart") -> str:
    t, d = escape(title), escape(desc)
    return (
        f'<svg class="{css}" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-labelledby="c{uid}t c{uid}d" aria-label="{t}" xmlns="http://www.w3.org/2000/svg" '
        f'preserveAspectRatio="xMinYMin meet">'
        f'<title id="c{uid}t">{t}</title><desc id="c{uid}d">{d}</desc>'
    )
