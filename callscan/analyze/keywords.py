"""What the customer talked about: key phrases, and mentions of competitors, money, dates,
trigger events and the channel that brought them to us.

Everything works on the Docs already parsed for each utterance; nothing is parsed twice.
The words to look for live in ``models/lexicon.yaml`` so marketing can edit them.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import CallscanError
from .trackers import PhraseFinder, PhraseHit, sentence_times
from .utterances import Utterance

if TYPE_CHECKING:
    from spacy.tokens import Doc, Span, Token

_LEXICON_HINT = "see models/lexicon.yaml for the format"

# A short linguistic stop list, like spaCy's STOP_WORDS: heads that say nothing about the
# customer's business. Not domain data, so it stays here rather than in the lexicon.
GENERIC_NOUNS = frozenset(
    "thing stuff lot way guy time question call bit kind sort part one something anything "
    "everything nothing someone anyone everyone people person today tomorrow yesterday day "
    "week month year hour minute moment number point case idea fact yes okay hi hello hey "
    "morning afternoon evening problem issue thanks thank sense hmm um uh yeah sir ma'am guys "
    "team company business meeting".split()
)
# spaCy lemmatises a few plurals to Latin singulars nobody says in a sales call.
_LEMMA_FIXES = {"datum": "data", "medium": "media"}
# A DATE entity is kept when it can go on a timeline: it has a number, a named day or
# month, or one of these words. "today" and "a week" fill every call and tell nobody anything.
_WHEN_WORDS = frozenset(
    "next last this coming following past early mid late end beginning start tomorrow "
    "yesterday tonight new fiscal q1 q2 q3 q4".split()
)
# Chunks that are wholly one of these entities are names or quantities, not topics.
_NOT_TOPICS = {"PERSON", "DATE", "TIME", "CARDINAL", "ORDINAL", "PERCENT", "MONEY", "QUANTITY"}
_LEADING_FILLER_POS = {"DET", "PRON", "NUM", "ADP", "ADV", "CCONJ", "PART", "PUNCT", "SYM", "INTJ"}
_CONTENT_POS = {"NOUN", "PROPN", "ADJ", "VERB", "X"}
_COMPETITOR_ENTS = {"ORG", "PRODUCT"}


# --- the lexicon -------------------------------------------------------------------------


@dataclass(frozen=True)
class Competitor:
    name: str  # as shown in reports
    aliases: tuple[str, ...] = ()  # other spellings and product names, any case


@dataclass(frozen=True, eq=False)  # compared by identity, so matchers can be cached per lexicon
class Lexicon:
    competitors: tuple[Competitor, ...]
    triggers: dict[str, tuple[str, ...]]  # event type -> cue phrases
    channels: dict[str, tuple[str, ...]]  # channel id -> cue phrases
    competitor_context: dict[str, tuple[str, ...]]  # using | evaluating | comparing | left -> cues
    not_competitors: frozenset[str] = frozenset()  # lower-case names never reported as competitors


def load_lexicon(path: Path) -> Lexicon:
    """Read ``models/lexicon.yaml``; a malformed file raises CallscanError naming the section."""
    from ..datafile import read_yaml

    data = read_yaml(path, "lexicon", _LEXICON_HINT)
    if not isinstance(data, dict):
        raise CallscanError(f"lexicon {path} must be a mapping of sections", hint=_LEXICON_HINT)
    return Lexicon(
        competitors=tuple(_competitor(path, c) for c in _section(path, data, "competitors", list)),
        triggers=_cue_map(path, data, "triggers"),
        channels=_cue_map(path, data, "channels"),
        competitor_context=_cue_map(path, data, "competitor_context"),
        not_competitors=_lowered(_strings(path, data.get("not_competitors") or [], "not_competitors")),
    )


def _lowered(names: tuple[str, ...]) -> frozenset[str]:
    return frozenset(name.lower() for name in names)


def _section(path: Path, data: dict, name: str, kind: type) -> Any:
    value = data.get(name) or kind()
    if not isinstance(value, kind):
        message = f"section `{name}` of lexicon {path} must be a {kind.__name__}"
        raise CallscanError(message, hint=_LEXICON_HINT)
    return value


def _strings(path: Path, value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
        raise CallscanError(f"`{where}` in lexicon {path} must be a list of text", hint=_LEXICON_HINT)
    return tuple(str(v).strip() for v in value if str(v).strip())


def _competitor(path: Path, item: Any) -> Competitor:
    if not isinstance(item, dict) or not isinstance(item.get("name"), str):
        raise CallscanError(f"each competitor in lexicon {path} needs a `name`", hint=_LEXICON_HINT)
    aliases = _strings(path, item.get("aliases") or [], f"aliases of {item['name']}")
    return Competitor(item["name"].strip(), aliases)


def _cue_map(path: Path, data: dict, name: str) -> dict[str, tuple[str, ...]]:
    section = _section(path, data, name, dict)
    return {str(key): _strings(path, cues or [], f"{name}.{key}") for key, cues in section.items()}


# --- key phrases -------------------------------------------------------------------------


def key_phrase_candidates(utterances: list[Utterance]) -> list[dict]:
    """Noun phrases said in these utterances, normalised, with counts (most frequent first).

    "the dispatch boards" and "our dispatch board" both count as ``dispatch board``; chunks
    that are only pronouns, stop words, generic nouns ("a lot", "next week") or names and
    quantities are left out. ``text`` is the most common wording as said.
    """
    counts: Counter[str] = Counter()
    forms: dict[str, Counter[str]] = defaultdict(Counter)
    for u in utterances:
        if not u.doc.has_annotation("DEP"):  # noun chunks need the parser
            continue
        for chunk in u.doc.noun_chunks:
            for core in _phrase_cores(chunk):
                phrase = " ".join(_lemma(t) for t in core)
                counts[phrase] += 1
                forms[phrase][core.text] += 1
    return [
        {"phrase": phrase, "text": forms[phrase].most_common(1)[0][0], "count": n}
        for phrase, n in counts.most_common()
    ]


def _lemma(token: "Token") -> str:
    lemma = token.lemma_.lower()
    return _LEMMA_FIXES.get(lemma, lemma)


def _phrase_cores(chunk: "Span") -> list["Span"]:
    """The topical parts of a chunk: possessor and leading fillers dropped, "X and Y" split."""
    tokens = list(chunk)
    owner_marks = [i for i, t in enumerate(tokens) if t.tag_ == "POS"]
    if owner_marks:  # "Mike's head" is about the head, not Mike
        tokens = tokens[owner_marks[-1] + 1 :]
    parts, current = [], []
    for t in tokens:
        if t.pos_ == "CCONJ" or t.text in (",", ";", "/"):
            parts.append(current)
            current = []
        else:
            current.append(t)
    parts.append(current)
    return [span for span in (_core(chunk.doc, p) for p in parts) if span is not None]


def _core(doc: "Doc", tokens: list["Token"]) -> "Span | None":
    while tokens and _is_filler(tokens[0]):
        tokens = tokens[1:]
    if not tokens:
        return None
    head = tokens[-1]  # English noun phrases end in their head
    if head.is_stop or head.pos_ in ("PRON", "INTJ") or head.lemma_.lower() in GENERIC_NOUNS:
        return None
    if not any(c.isalpha() for c in head.text):  # "-", "…", numbers
        return None
    if not any(t.pos_ in _CONTENT_POS and not t.is_stop and not t.like_num for t in tokens):
        return None
    if all(t.ent_type_ in _NOT_TOPICS for t in tokens):
        return None
    return doc[tokens[0].i : head.i + 1]


def _is_filler(token: "Token") -> bool:
    if token.lower_ == "no":  # "no shows" is a topic; "shows" alone is not
        return False
    return token.pos_ in _LEADING_FILLER_POS or token.tag_ in ("PRP$", "WDT", "WP$") or token.is_stop


def _tf(count: int) -> float:
    return 1.0 + math.log(count)  # sublinear: saying a phrase ten times is not ten times the topic


def _idf(calls_with: int, calls: int) -> float:
    return math.log((1 + calls) / (1 + calls_with)) + 1.0  # smoothed, never zero, as in scikit-learn


def _document_frequency(candidates_by_call: dict[str, list[dict]]) -> Counter[str]:
    """In how many calls each phrase was heard."""
    return Counter(p for cands in candidates_by_call.values() for p in {c["phrase"] for c in cands})


def rank_key_phrases(candidates_by_call: dict[str, list[dict]], top: int = 12) -> dict[str, list[dict]]:
    """Each call's phrases by TF-IDF across the calls given: what sets this call apart.

    score = (1 + ln count) × (ln((1 + calls) / (1 + calls with the phrase)) + 1), so a phrase
    heard only in this call outranks one heard in every call at the same count.
    """
    df, n = _document_frequency(candidates_by_call), len(candidates_by_call)
    ranked = {}
    for call, cands in candidates_by_call.items():
        scored = [{**c, "score": round(_tf(c["count"]) * _idf(df[c["phrase"]], n), 3)} for c in cands]
        scored.sort(key=lambda c: (-c["score"], -c["count"], c["phrase"]))
        ranked[call] = scored[:top]
    return ranked


def top_phrases_overall(candidates_by_call: dict[str, list[dict]], top: int = 25) -> list[dict]:
    """Themes across calls for the briefing: phrases heard in many calls.

    score = calls with the phrase × idf (the smoothed idf above): *number of calls ×
    specificity*. The product still grows with the number of calls, so a theme of three
    calls beats one of two, but its weight flattens as a phrase nears every call; ties go to
    the phrase said more often in all. Repeats inside one call do not make a theme, so a
    phrase said five times in one call stays below one said once in each of two calls.
    Items carry ``calls``, ``count`` (times said in all) and ``text`` (the most common wording).
    """
    df, n = _document_frequency(candidates_by_call), len(candidates_by_call)
    totals: Counter[str] = Counter()
    forms: dict[str, Counter[str]] = defaultdict(Counter)
    for cands in candidates_by_call.values():
        for c in cands:
            totals[c["phrase"]] += c["count"]
            forms[c["phrase"]][c["text"]] += c["count"]
    items = [
        {
            "phrase": p,
            "text": forms[p].most_common(1)[0][0],
            "calls": df[p],
            "count": totals[p],
            "score": round(df[p] * _idf(df[p], n), 3),
        }
        for p in totals
    ]
    items.sort(key=lambda i: (-i["score"], -i["count"], i["phrase"]))
    return items[:top]


# --- mentions ----------------------------------------------------------------------------


def mentions(utterances: list[Utterance], lexicon: Lexicon, nlp=None) -> list[dict]:
    """Competitors, money, dates, trigger events and channels, sentence by sentence.

    Each item: type, value, context (competitors only: using | evaluating | comparing | left,
    from the cue said nearest the name in the same sentence, else None), text (the sentence),
    start/end (estimated sentence times), speaker, role. ``nlp`` must be the pipeline that
    parsed the utterances; it defaults to the project's ``load_nlp()``.
    """
    if nlp is None:
        from .nlp import load_nlp

        nlp = load_nlp()
    finder = _mention_finder(nlp, lexicon)
    return [m for u in utterances for m in finder.in_utterance(u)]


@lru_cache(maxsize=8)
def _mention_finder(nlp, lexicon: Lexicon) -> "_MentionFinder":
    return _MentionFinder(nlp, lexicon)


class _MentionFinder:
    """The matchers for one lexicon, built once and reused for every call."""

    def __init__(self, nlp, lexicon: Lexicon):
        groups = {c.name: [c.name, *c.aliases] for c in lexicon.competitors}
        self.competitors = PhraseFinder(nlp, groups, lemmas=False)  # names do not inflect
        cues = {f"context:{k}": v for k, v in lexicon.competitor_context.items()}
        cues |= {f"trigger:{k}": v for k, v in lexicon.triggers.items()}
        cues |= {f"channel:{k}": v for k, v in lexicon.channels.items()}
        self.cues = PhraseFinder(nlp, cues)
        self.context_order = list(lexicon.competitor_context)
        self.not_competitors = lexicon.not_competitors | {c.name.lower() for c in lexicon.competitors}
        self.money = _money_matcher(nlp.vocab)

    def in_utterance(self, u: Utterance) -> list[dict]:
        doc = u.doc
        sents = list(doc.sents) if doc.has_annotation("SENT_START") else [doc[:]]
        sent_of = [k for k, s in enumerate(sents) for _ in s]  # token index -> sentence index
        cues = self.cues.find(doc)
        contexts = _longest([h for h in cues if _is_context(h)])
        money = self._money_spans(doc)
        found = self._competitors(doc, contexts, sent_of)
        found += [(h.span.start, *h.key.split(":", 1), None) for h in cues if not _is_context(h)]
        found += [(m.start, "money", m.text, None) for m in money]
        found += [
            (e.start, "date", e.text, None)
            for e in doc.ents
            if e.label_ == "DATE" and _on_timeline(e) and not any(_overlap(e, m) for m in money)
        ]
        return _mention_dicts(u, sents, sent_of, found)

    def _competitors(self, doc: "Doc", contexts: list[PhraseHit], sent_of: list[int]) -> list[tuple]:
        """Lexicon names, plus organisations named in a sentence with a context cue."""
        names = [(h.span, h.key) for h in self.competitors.find(doc)]
        cue_sents = {sent_of[h.span.start] for h in contexts}
        for ent in doc.ents:
            if ent.label_ not in _COMPETITOR_ENTS or sent_of[ent.start] not in cue_sents:
                continue
            ent = _drop_determiners(ent)
            taken = [span for span, _ in names] + [h.span for h in contexts]
            if ent.text.lower() not in self.not_competitors and not any(_overlap(ent, s) for s in taken):
                names.append((ent, ent.text))
        found = []
        for span, value in names:
            nearby = [h for h in contexts if sent_of[h.span.start] == sent_of[span.start]]
            found.append((span.start, "competitor", value, self._context(span, nearby)))
        return found

    def _context(self, name: "Span", cues: list[PhraseHit]) -> str | None:
        """The cue said nearest the name wins; then the longer cue; then lexicon order."""
        if not cues:
            return None

        def rank(h: PhraseHit) -> tuple[int, int, int]:
            gap = max(h.span.start - name.end, name.start - h.span.end, 0)
            return gap, -len(h.span), self.context_order.index(h.key.split(":", 1)[1])

        return min(cues, key=rank).key.split(":", 1)[1]

    def _money_spans(self, doc: "Doc") -> list["Span"]:
        """MONEY entities, widened by the amounts spaCy misses or cuts short ("$40k", "€16,200")."""
        from spacy.util import filter_spans

        spans = [e for e in doc.ents if e.label_ == "MONEY"]
        for key, start, end in self.money(doc):
            bare = doc.vocab.strings[key] == "money_bare"
            if bare and end < len(doc) and doc[end].pos_ in ("NOUN", "PROPN"):
                continue  # "40k users" counts people, not money
            spans.append(doc[start:end])
        return [_trim_money(s) for s in filter_spans(spans)]


def _is_context(hit: PhraseHit) -> bool:
    return hit.key.startswith("context:")


def _on_timeline(ent: "Span") -> bool:
    return any(t.like_num or t.pos_ == "PROPN" or t.lower_ in _WHEN_WORDS for t in ent)


def _money_matcher(vocab):
    """Token patterns for amounts: a currency sign, a currency word, or a "k"/"grand" suffix."""
    from spacy.matcher import Matcher

    signs = {"IN": ["$", "€", "£", "usd", "eur", "gbp"]}
    scale = {"LOWER": {"IN": ["k", "m", "mm", "bn", "thousand", "million", "billion", "grand"]}, "OP": "?"}
    units = {"LOWER": {"IN": ["dollar", "dollars", "bucks", "euro", "euros", "pounds", "usd"]}}
    number = {"LIKE_NUM": True, "OP": "+"}
    with_k = {"TEXT": {"REGEX": r"^\d[\d,.]*[kKmM]$"}}  # "40k", "1.2M": one token
    matcher = Matcher(vocab)
    matcher.add("money", [
        [{"LOWER": signs}, number, scale],
        [{"LOWER": signs}, with_k],
        [number, scale, units],
        [number, {"LOWER": {"IN": ["k", "grand"]}}],
    ])
    matcher.add("money_bare", [[with_k]])
    return matcher


def _trim_money(span: "Span") -> "Span":
    """Drop hedges said before an amount: "about $900" -> "$900"."""
    start = span.start
    while start < span.end - 1 and span.doc[start].pos_ in ("ADV", "ADP") and not span.doc[start].is_currency:
        start += 1
    return span.doc[start : span.end]


def _drop_determiners(span: "Span") -> "Span":
    start = span.start
    while start < span.end - 1 and span.doc[start].pos_ == "DET":
        start += 1
    return span.doc[start : span.end]


def _longest(hits: list[PhraseHit]) -> list[PhraseHit]:
    """Overlapping cues collapse to the longest: "used to use" (left), not "use" (using)."""
    kept: list[PhraseHit] = []
    for hit in sorted(hits, key=lambda h: (-len(h.span), h.span.start)):
        if not any(_overlap(hit.span, k.span) for k in kept):
            kept.append(hit)
    return kept


def _overlap(a: "Span", b: "Span") -> bool:
    return a.start < b.end and b.start < a.end


def _mention_dicts(u: Utterance, sents: list["Span"], sent_of: list[int], found: list[tuple]) -> list[dict]:
    """One dict per (type, value) per sentence, in the order they were said."""
    out, seen = [], set()
    for token, kind, value, context in sorted(found, key=lambda f: f[0]):
        k = sent_of[token]
        if (k, kind, value.lower()) in seen:
            continue
        seen.add((k, kind, value.lower()))
        start, end = sentence_times(u, sents[k])
        out.append({
            "type": kind, "value": value, "context": context, "text": sents[k].text.strip(),
            "start": start, "end": end, "speaker": u.speaker, "role": u.role,
        })
    return out
