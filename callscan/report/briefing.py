"""The marketing briefing: which objections customers raise, in their words, and what to say.

Numbers count *calls*, not sentences: one customer saying "too expensive" five times is one
call with a price objection. Calls whose speakers are unknown (mono recordings before speaker
separation) still count, but their quotes are marked, because the words may be the rep's.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from markupsafe import Markup

from . import charts
from .clips import ClipRequest
from .views import (CallDigest, CategoryInfo, Config, Period, clock, humanize, nice_date, parse_date, period_of,
                    periods_between)

MAX_QUOTES = 5
MAX_PHRASES = 8
MAX_EXAMPLES = 3
TREND_PERIODS = 12  # more columns than this stop being readable at sparkline size
CONTEXTS = ("using", "evaluating", "comparing", "left")


class _LinksToLine:
    """For anything said at ``start`` in ``segment`` of ``call``: a link to that line, and the time."""

    @property
    def href(self) -> str:
        return self.call.href + (f"#seg-{self.segment}" if self.segment is not None else "")

    @property
    def at(self) -> str:
        return clock(self.start)


@dataclass
class Quote(_LinksToLine):
    """A customer's exact words from one call, linked to the moment they were said."""

    call: CallDigest
    text: str
    start: float
    end: float
    confidence: float
    attributed: bool
    segment: int | None
    clip: ClipRequest | None = None  # what to cut; None for transcript-only calls
    clip_href: str | None = None  # filled in once the clip exists
    audio_note: str | None = None


@dataclass(frozen=True)
class PhraseUse:
    text: str
    calls: int
    times: int


@dataclass
class Trend:
    unit: str  # week | month
    columns: list[charts.Column]
    chart: Markup
    change: int | None  # last period minus the one before; None with a single period

    @property
    def arrow(self) -> str:
        if not self.change:
            return "→"
        return "▲" if self.change > 0 else "▼"

    @property
    def change_text(self) -> str:
        if not self.columns:
            return "no dated calls"
        if self.change is None:
            return f"only one {self.unit} in range"
        calls = "call" if abs(self.change) == 1 else "calls"
        if self.change == 0:
            return f"no change vs previous {self.unit}"
        return f"{self.change:+d} {calls} vs previous {self.unit}"


@dataclass
class CategoryCard:
    info: CategoryInfo
    calls: int  # calls where it was raised
    attributed_calls: int  # … of which by a known customer
    total_calls: int
    times: int  # objections, all calls
    trend: Trend
    quotes: list[Quote]
    phrases: list[PhraseUse]

    @property
    def share(self) -> float:
        return self.calls / self.total_calls if self.total_calls else 0.0

    @property
    def unattributed_calls(self) -> int:
        return self.calls - self.attributed_calls

    @property
    def anchor(self) -> str:
        return f"cat-{re.sub(r'[^a-z0-9_-]+', '-', self.info.id.lower())}"


@dataclass(frozen=True)
class MentionRef(_LinksToLine):
    """One sentence that mentions something, linked to its line."""

    call: CallDigest
    text: str
    start: float
    segment: int | None
    attributed: bool


@dataclass
class MentionGroup:
    """Everything said about one competitor, trigger event or channel."""

    value: str
    calls: int
    times: int
    contexts: dict[str, int]  # competitors only: using / evaluating / comparing / left / unclear
    examples: list[MentionRef]


@dataclass
class CallRow:
    call: CallDigest
    objections: int
    categories: list[str]

    @property
    def length(self) -> str:
        return clock(self.call.duration)


@dataclass
class Briefing:
    first: str
    last: str
    by: str
    calls: list[CallRow]
    hours: float
    reps: list[str]
    attributed_calls: int
    undated_calls: int
    cards: list[CategoryCard]
    chart: Markup | None
    competitors: list[MentionGroup]
    triggers: list[MentionGroup]
    channels: list[MentionGroup]
    phrases: list[dict]
    filters: dict[str, str] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return len(self.calls)

    @property
    def unattributed_calls(self) -> int:
        return self.total - self.attributed_calls

    @property
    def trend_range(self) -> str:
        columns = self.cards[0].trend.columns if self.cards else []
        if not columns:
            return ""
        return columns[0].label if len(columns) == 1 else f"{columns[0].label} – {columns[-1].label}"

    def clip_requests(self) -> dict[str, list[ClipRequest]]:
        """Clips to cut, by call, so each recording is decoded once."""
        wanted: dict[str, list[ClipRequest]] = defaultdict(list)
        for card in self.cards:
            for quote in card.quotes:
                if quote.clip is not None and quote.clip not in wanted[quote.call.id]:
                    wanted[quote.call.id].append(quote.clip)
        return wanted


# -- building -----------------------------------------------------------------------------------


def build_briefing(calls: list[CallDigest], config: Config, by: str = "week",
                   since: str | None = None, until: str | None = None, rep: str | None = None) -> Briefing:
    dates = sorted(d for d in (parse_date(c.date) for c in calls) if d)
    first = parse_date(since) or (dates[0] if dates else None)
    last = parse_date(until) or (dates[-1] if dates else None)
    periods = periods_between(first, last, by)[-TREND_PERIODS:] if first and last and first <= last else []
    cards = [_card(cid, hits, calls, config, periods, by) for cid, hits in _hits_by_category(calls).items()]
    cards.sort(key=lambda c: (-c.calls, -c.attributed_calls, c.info.label.lower()))
    return Briefing(
        first=nice_date(first) if first else "—", last=nice_date(last) if last else "—", by=by,
        calls=[_call_row(c, config) for c in calls],
        hours=sum(c.duration for c in calls if c.is_audio) / 3600,
        reps=sorted({c.rep for c in calls if c.rep}, key=str.lower),
        attributed_calls=sum(1 for c in calls if c.roles_known), undated_calls=len(calls) - len(dates),
        cards=cards, chart=_objection_chart(cards, len(calls)),
        competitors=_group_mentions(calls, "competitor"), triggers=_group_mentions(calls, "trigger"),
        channels=_group_mentions(calls, "channel"), phrases=_top_phrases(calls),
        filters={k: v for k, v in {"since": since, "until": until, "rep": rep}.items() if v},
    )


def _hits_by_category(calls: list[CallDigest]) -> dict[str, list[tuple[CallDigest, dict]]]:
    hits: dict[str, list[tuple[CallDigest, dict]]] = defaultdict(list)
    for call in calls:
        for objection in call.objections:
            hits[objection["category"]].append((call, objection))
    return hits


def _card(cid: str, hits: list[tuple[CallDigest, dict]], calls: list[CallDigest], config: Config,
          periods: list[Period], by: str) -> CategoryCard:
    raised = {c.id: c for c, _ in hits}
    attributed = {c.id for c, o in hits if o.get("attributed", True)}
    info = config.category(cid)
    return CategoryCard(
        info=info, calls=len(raised), attributed_calls=len(attributed), total_calls=len(calls), times=len(hits),
        trend=_trend(info.label, list(raised.values()), calls, periods, by),
        quotes=[_quote(c, o) for c, o in pick_quotes(hits)], phrases=category_phrases(hits),
    )


def pick_quotes(hits: list[tuple[CallDigest, dict]], limit: int = MAX_QUOTES) -> list[tuple[CallDigest, dict]]:
    """The most representative quotes: confident, attributed, distinct, from different calls.

    Attribution outranks breadth: an unattributed line may be the rep paraphrasing the
    customer, so a second quote from a known customer beats a first from an unknown speaker.
    """
    ranked = sorted(hits, key=lambda h: (not h[1].get("attributed", True), -h[1].get("confidence", 0.0),
                                         h[0].date or "", h[1].get("start") or 0.0))
    unique, seen = [], []
    for call, objection in ranked:
        key = _normal(objection.get("text", ""))
        if key and not any(f" {key} " in f" {s} " or f" {s} " in f" {key} " for s in seen):
            seen.append(key)
            unique.append((call, objection))
    order = []
    for attributed in (True, False):
        group = [h for h in unique if bool(h[1].get("attributed", True)) == attributed]
        order += _spread_over_calls(group)
    return order[:limit]


def _spread_over_calls(hits: list[tuple[CallDigest, dict]]) -> list[tuple[CallDigest, dict]]:
    firsts, rest, calls = [], [], set()
    for hit in hits:
        (rest if hit[0].id in calls else firsts).append(hit)
        calls.add(hit[0].id)
    return firsts + rest


def _normal(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def _quote(call: CallDigest, objection: dict) -> Quote:
    start, end = float(objection.get("start") or 0.0), float(objection.get("end") or 0.0)
    segment = objection.get("segment")
    clip = None
    if call.is_audio:
        clip = ClipRequest(call.id, round(start, 2), round(max(end, start), 2), call.segment_channels.get(segment))
    return Quote(call, objection.get("text", ""), start, end, float(objection.get("confidence", 0.0)),
                 bool(objection.get("attributed", True)), segment, clip,
                 audio_note=None if call.is_audio else "transcript only: no audio")


def category_phrases(hits: list[tuple[CallDigest, dict]], limit: int = MAX_PHRASES) -> list[PhraseUse]:
    """Key phrases of the call that the customer actually said inside the objection itself."""
    calls: dict[str, set[str]] = defaultdict(set)
    times: Counter[str] = Counter()
    shown: dict[str, Counter[str]] = defaultdict(Counter)
    for call, objection in hits:
        text = objection.get("text", "").lower()
        for cand in call.keywords:
            wording = cand.get("text", cand["phrase"])
            if any(re.search(rf"\b{re.escape(f.lower())}\b", text) for f in {wording, cand["phrase"]}):
                calls[cand["phrase"]].add(call.id)
                times[cand["phrase"]] += 1
                shown[cand["phrase"]][wording] += 1
    ranked = sorted(times, key=lambda p: (-len(calls[p]), -times[p], p))[:limit]
    return [PhraseUse(shown[p].most_common(1)[0][0], len(calls[p]), times[p]) for p in ranked]


def _trend(label: str, raised: list[CallDigest], calls: list[CallDigest], periods: list[Period], by: str) -> Trend:
    def counts(group: list[CallDigest]) -> Counter[str]:
        return Counter(period_of(d, by).key for d in (parse_date(c.date) for c in group) if d)

    hit, base = counts(raised), counts(calls)
    columns = [charts.Column(p.label, hit[p.key], base[p.key]) for p in periods]
    change = columns[-1].value - columns[-2].value if len(columns) > 1 else None
    title = f"{label}: calls raising it per {by}"
    return Trend(by, columns, charts.mini_columns(columns, title), change)


def _objection_chart(cards: list[CategoryCard], total: int) -> Markup | None:
    if not cards:
        return None
    bars = [charts.Bar(c.info.label, c.attributed_calls, c.unattributed_calls, total) for c in cards]
    words = "; ".join(f"{c.info.label}: {c.calls} of {total} calls ({c.share:.0%})" for c in cards)
    return charts.bar_chart(bars, "Objections by share of calls", words)


def _group_mentions(calls: list[CallDigest], kind: str) -> list[MentionGroup]:
    groups: dict[str, list[tuple[CallDigest, dict]]] = defaultdict(list)
    for call in calls:
        for mention in call.mentions:
            if mention.get("type") == kind and mention.get("value"):
                groups[str(mention["value"]).strip().lower()].append((call, mention))
    out = [_mention_group(kind, items) for items in groups.values()]
    out.sort(key=lambda g: (-g.calls, -g.times, g.value.lower()))
    return out


def _mention_group(kind: str, items: list[tuple[CallDigest, dict]]) -> MentionGroup:
    wording = Counter(str(m["value"]).strip() for _, m in items).most_common(1)[0][0]
    value = wording if kind == "competitor" else humanize(wording)
    contexts: Counter[str] = Counter()
    if kind == "competitor":
        contexts.update(m.get("context") or "unclear" for _, m in items)
    examples, used = [], set()
    # One example per call (breadth over repetition), the most telling sentence of each:
    # one that says how they relate to it, then the longest ("Payflow." alone says little).
    ranked = sorted(items, key=lambda i: (not i[1].get("context"), -len(i[1].get("text", ""))))
    for call, m in ranked:
        if call.id not in used and len(examples) < MAX_EXAMPLES:
            used.add(call.id)
            examples.append(MentionRef(call, m.get("text", ""), float(m.get("start") or 0.0), m.get("segment"),
                                       m.get("role") == "customer"))
    ordered = {k: contexts[k] for k in (*CONTEXTS, "unclear") if contexts[k]}
    return MentionGroup(value, len({c.id for c, _ in items}), len(items), ordered, examples)


def _top_phrases(calls: list[CallDigest]) -> list[dict]:
    from ..analyze.keywords import top_phrases_overall

    phrases = top_phrases_overall({c.id: c.keywords for c in calls if c.keywords}, top=30)
    return [p for p in phrases if any(ch.isalpha() for ch in p["text"])][:20]


def _call_row(call: CallDigest, config: Config) -> CallRow:
    labels = sorted({config.category(o["category"]).label for o in call.objections})
    segments = {o.get("segment", i) for i, o in enumerate(call.objections)}
    return CallRow(call, len(segments), labels)
