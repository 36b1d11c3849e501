"""Key phrases and mentions (competitors, money, dates, triggers, channels) on the real pipeline."""

import time
from pathlib import Path

import pytest

from callscan.analyze.keywords import (
    key_phrase_candidates,
    load_lexicon,
    mentions,
    rank_key_phrases,
    top_phrases_overall,
)
from callscan.analyze.nlp import load_nlp
from callscan.analyze.trackers import TrackerMatcher, load_trackers, tracker_counts
from callscan.analyze.utterances import parse_segments
from callscan.errors import CallscanError
from callscan.schema import Segment

MODELS = Path(__file__).parent.parent / "models"


@pytest.fixture(scope="module")
def nlp():
    return load_nlp()


@pytest.fixture(scope="module")
def lexicon():
    return load_lexicon(MODELS / "lexicon.yaml")


def utterances(nlp, *turns, role="customer"):
    """One utterance per text, ten seconds apart; a (role, text) tuple sets the role."""
    segments = []
    for i, turn in enumerate(turns):
        who, text = turn if isinstance(turn, tuple) else (role, turn)
        segments.append(Segment(i * 10.0, i * 10.0 + 8.0, text, who.title(), who))
    return parse_segments(nlp, segments)


def found(nlp, lexicon, *turns, kind=None):
    items = mentions(utterances(nlp, *turns), lexicon, nlp)
    return [(m["type"], m["value"], m["context"]) for m in items if kind in (None, m["type"])]


# --- lexicon ---------------------------------------------------------------------------


def test_shipped_lexicon_has_every_section(lexicon):
    names = {c.name for c in lexicon.competitors}
    assert {"Routeify", "PayFlow", "SunCore", "Salesforce", "HubSpot", "Gong", "Chorus", "Zendesk"} <= names
    assert len(names) >= 12
    assert set(lexicon.triggers) == {
        "merger", "acquisition", "layoffs", "funding", "new_leadership", "hiring", "relocation", "new_regulation"}
    assert set(lexicon.channels) == {
        "linkedin", "twitter_x", "search", "review_sites", "webinar", "referral", "conference", "podcast"}
    assert {"g2", "capterra", "trustradius"} <= set(lexicon.channels["review_sites"])
    assert set(lexicon.competitor_context) == {"using", "evaluating", "comparing", "left"}
    assert "quickbooks" in lexicon.not_competitors


@pytest.mark.parametrize("text, section", [
    ("competitors: {Gong: x}\n", "competitors"),
    ("competitors:\n  - aliases: [a]\n", "name"),
    ("triggers: [merger]\n", "triggers"),
    ("channels:\n  linkedin: linkedin\n", "channels.linkedin"),
    ("competitors: [\n", "not valid YAML"),
])
def test_malformed_lexicon_names_the_problem(tmp_path, text, section):
    path = tmp_path / "lexicon.yaml"
    path.write_text(text)
    with pytest.raises(CallscanError, match=section):
        load_lexicon(path)


# --- key phrases -----------------------------------------------------------------------


def test_key_phrases_are_normalised_and_counted(nlp):
    us = utterances(
        nlp,
        "Our dispatch board is a mess.",
        "The dispatch boards freeze every morning, and I have a lot of questions about stuff like that.",
        "Honestly, Mike's head holds the whole plan.",
    )
    cands = key_phrase_candidates(us)
    assert cands[0] == {"phrase": "dispatch board", "text": "dispatch board", "count": 2}
    phrases = {c["phrase"] for c in cands}
    assert {"head", "plan", "mess"} <= phrases  # "whole" is a stop word
    assert not phrases & {"lot", "stuff", "question", "i", "that", "morning", "mike"}


def test_key_phrases_split_coordination_and_keep_no(nlp):
    cands = key_phrase_candidates(utterances(nlp, "We need ROI and case studies.", "Our real issue is no shows."))
    assert {c["phrase"] for c in cands} == {"roi", "case study", "no show"}


def test_specific_phrase_outranks_one_heard_in_every_call():
    calls = {
        "a": [{"phrase": "pricing", "text": "pricing", "count": 1},
              {"phrase": "dispatch board", "text": "the dispatch board", "count": 1}],
        "b": [{"phrase": "pricing", "text": "pricing", "count": 1},
              {"phrase": "fuel card", "text": "fuel cards", "count": 1}],
        "c": [{"phrase": "pricing", "text": "Pricing", "count": 2}],
    }
    ranked = rank_key_phrases(calls)
    assert [(c["phrase"], c["score"]) for c in ranked["a"]] == [("dispatch board", 1.693), ("pricing", 1.0)]
    assert ranked["c"] == [{"phrase": "pricing", "text": "Pricing", "count": 2, "score": 1.693}]
    assert len(rank_key_phrases(calls, top=1)["a"]) == 1


def test_overall_phrases_favour_themes_across_calls():
    calls = {
        "a": [{"phrase": "pricing", "text": "pricing", "count": 1},
              {"phrase": "fuel card", "text": "fuel cards", "count": 1},
              {"phrase": "dispatch board", "text": "dispatch board", "count": 5}],
        "b": [{"phrase": "pricing", "text": "price", "count": 1}, {"phrase": "fuel card", "text": "fuel card", "count": 2}],
        "c": [{"phrase": "pricing", "text": "pricing", "count": 1}],
    }
    overall = top_phrases_overall(calls)
    assert [(i["phrase"], i["calls"], i["count"], i["score"]) for i in overall] == [
        ("pricing", 3, 3, 3.0),  # 3 calls x idf 1.0
        ("fuel card", 2, 3, 2.575),  # 2 calls x idf 1.288
        ("dispatch board", 1, 5, 1.693),  # 1 call x idf 1.693, however often it was said
    ]
    assert overall[1]["text"] == "fuel card"
    assert len(top_phrases_overall(calls, top=2)) == 2


# --- competitors -----------------------------------------------------------------------


@pytest.mark.parametrize("text, value, context", [
    ("We use HubSpot for all our email today.", "HubSpot", "using"),
    ("We are evaluating Gong right now.", "Gong", "evaluating"),
    ("Honestly, we compared you with Chorus last week.", "Chorus", "comparing"),
    ("We left Zendesk last year because support was slow.", "Zendesk", "left"),
    ("We used to use SFDC for this.", "Salesforce", "left"),  # an alias; the longer cue wins
    ("Salesforce is too complicated for us.", "Salesforce", None),
    ("We had a demo with routeify last month.", "Routeify", "evaluating"),
])
def test_competitor_and_context(nlp, lexicon, text, value, context):
    assert found(nlp, lexicon, text, kind="competitor") == [("competitor", value, context)]


def test_unlisted_organisations_count_next_to_a_cue(nlp, lexicon):
    text = "We currently use Acme Analytics for reporting, but we are evaluating Brightwave Systems."
    assert found(nlp, lexicon, text, kind="competitor") == [
        ("competitor", "Acme Analytics", "using"), ("competitor", "Brightwave Systems", "evaluating")]
    assert found(nlp, lexicon, "Acme Analytics sent us a letter.", kind="competitor") == []
    assert found(nlp, lexicon, "We use QuickBooks for billing.", kind="competitor") == []


def test_context_stays_inside_the_sentence(nlp, lexicon):
    us = utterances(nlp, "We looked at a lot of options last spring. PayFlow is the one we kept.")
    [m] = [m for m in mentions(us, lexicon, nlp) if m["type"] == "competitor"]
    assert m["value"] == "PayFlow" and m["context"] is None
    assert m["text"] == "PayFlow is the one we kept."
    assert 0.0 < m["start"] < m["end"] == 8.0
    assert (m["speaker"], m["role"]) == ("Customer", "customer")


# --- money, dates ----------------------------------------------------------------------


def test_money_includes_amounts_spacy_misses(nlp, lexicon):
    items = found(nlp, lexicon, "They quoted $40k, and the other one wanted fifty thousand dollars.",
                  "We pay about $900 a month, or €16,200 a year.", "We have 40k users.")
    money = [v for t, v, _ in items if t == "money"]
    assert money == ["$40k", "fifty thousand dollars", "$900", "€16,200"]
    assert ("date", "40k", None) not in items


def test_dates_that_go_on_a_timeline(nlp, lexicon):
    dates = found(nlp, lexicon, "Can we start on March 3, 2027, or next Tuesday? I am busy today.", kind="date")
    assert [v for _, v, _ in dates] == ["March 3, 2027", "next Tuesday"]


# --- triggers and channels -------------------------------------------------------------


@pytest.mark.parametrize("text, event", [
    ("We just merged with Sunrise Bread.", "merger"),
    ("We were acquired by a private equity firm in May.", "acquisition"),
    ("There were layoffs in the spring.", "layoffs"),
    ("We closed our Series A in September.", "funding"),
    ("I am the new CFO here.", "new_leadership"),
    ("We are hiring twelve new drivers.", "hiring"),
    ("We are relocating to Denver next year.", "relocation"),
    ("There is a new regulation coming for clinics.", "new_regulation"),
])
def test_trigger_events(nlp, lexicon, text, event):
    assert found(nlp, lexicon, text, kind="trigger") == [("trigger", event, None)]


@pytest.mark.parametrize("text, channel", [
    ("I saw your post on LinkedIn.", "linkedin"),
    ("Someone shared a tweet about you.", "twitter_x"),
    ("I googled route planning software.", "search"),
    ("I read the reviews on Capterra.", "review_sites"),
    ("I found you on G2.", "review_sites"),
    ("I joined your webinar in September.", "webinar"),
    ("A friend referred me to you.", "referral"),
    ("We met at the trade show in Austin.", "conference"),
    ("I heard your founder on a podcast.", "podcast"),
])
def test_channels(nlp, lexicon, text, channel):
    assert found(nlp, lexicon, text, kind="channel") == [("channel", channel, None)]


def test_a_repeated_value_counts_once_per_sentence(nlp, lexicon):
    assert found(nlp, lexicon, "The webinar was great, the best webinar this year.", kind="channel") == [
        ("channel", "webinar", None)]


# --- speed -----------------------------------------------------------------------------


def test_thirty_minute_call_analyses_in_under_a_second(nlp, lexicon):
    turns = [
        ("rep", "Thanks for joining. What does your dispatch look like today, and who else signs off?"),
        ("customer", "We use Routeify and spreadsheets. We merged with Sunrise Bread in March and pay $900 a month."),
        ("rep", "Most customers earn that back. I can send over a case study and a calendar invite for Tuesday."),
        ("customer", "We found you on G2. Honestly the fuel card part matters most, and our CFO has to approve it."),
    ] * 100  # 400 turns: about thirty minutes of talk
    us = utterances(nlp, *turns)  # parsing is transcription's cost, not analysis's
    trackers = load_trackers(MODELS / "trackers.yaml")
    started = time.perf_counter()
    items = mentions(us, lexicon, nlp)
    hits = TrackerMatcher(nlp, trackers).match(us)
    cands = key_phrase_candidates([u for u in us if u.role == "customer"])
    rank_key_phrases({"call": cands})
    elapsed = time.perf_counter() - started
    assert elapsed < 1.0
    assert sum(m["type"] == "competitor" for m in items) == 100
    assert tracker_counts(hits, trackers)["case_study"] == 100
