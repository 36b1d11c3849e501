"""Trackers: loading models/trackers.yaml, lemma matching, who filtering, counts."""

from pathlib import Path

import pytest

from callscan.analyze.nlp import load_nlp
from callscan.analyze.trackers import Tracker, TrackerMatcher, load_trackers, tracker_counts
from callscan.analyze.utterances import parse_segments
from callscan.errors import CallscanError
from callscan.schema import Segment

TRACKERS = Path(__file__).parent.parent / "models" / "trackers.yaml"


@pytest.fixture(scope="module")
def nlp():
    return load_nlp()


@pytest.fixture(scope="module")
def shipped():
    return load_trackers(TRACKERS)


@pytest.fixture(scope="module")
def matcher(nlp, shipped):
    return TrackerMatcher(nlp, shipped)


def utterances(nlp, *turns):
    segments = [Segment(i * 10.0, i * 10.0 + 5.0, text, role.title(), role) for i, (role, text) in enumerate(turns)]
    return parse_segments(nlp, segments)


def hits_of(matcher, nlp, *turns):
    return [(h["tracker"], h["phrase"], h["role"]) for h in matcher.match(utterances(nlp, *turns))]


def test_shipped_trackers(shipped):
    by_name = {t.name: t for t in shipped}
    assert set(by_name) == {
        "introduces_agenda", "discovery_questions", "mentions_roi", "case_study", "social_proof",
        "pricing_discussed", "next_steps", "decision_process", "competitor_mentioned", "budget_question",
        "timeline_question", "recap"}
    assert {"next step", "follow up", "send over", "calendar invite"} <= set(by_name["next_steps"].phrases)
    assert {"who else", "decision", "sign off"} <= set(by_name["decision_process"].phrases)
    assert by_name["pricing_discussed"].who == "any" and by_name["recap"].who == "rep"
    assert all(t.description for t in shipped)


def test_lemmas_match_other_word_forms(matcher, nlp):
    hits = hits_of(matcher, nlp, ("rep", "I can share two case studies with you."),
                   ("rep", "Let me follow up with the next steps."))
    assert ("case_study", "case study", "rep") in hits
    assert ("next_steps", "follow up", "rep") in hits
    assert ("next_steps", "next step", "rep") in hits


def test_verb_forms_and_case(nlp):
    trackers = [Tracker("integration", ["integrate"], "any"), Tracker("roi", ["ROI"], "any")]
    hits = TrackerMatcher(nlp, trackers).match(utterances(
        nlp, ("customer", "We integrated it with QuickBooks."), ("rep", "The roi is clear."), ("rep", "ROI matters.")))
    assert [(h["tracker"], h["start"]) for h in hits] == [("integration", 0.0), ("roi", 10.0), ("roi", 20.0)]


def test_who_filters_by_role(matcher, nlp):
    hits = hits_of(
        matcher, nlp,
        ("customer", "What is the next step on your side?"),
        ("rep", "The next step is a demo."),
        ("unknown", "What is the next step?"),
        ("customer", "What does it cost?"),
    )
    assert [h for h in hits if h[0] == "next_steps"] == [("next_steps", "next step", "rep")]
    assert ("pricing_discussed", "cost", "customer") in hits


def test_hit_fields_and_one_hit_per_overlap(nlp):
    trackers = [Tracker("case_study", ["case study", "case studies"], "rep")]
    u = utterances(nlp, ("rep", "Thanks for your time. Here are two case studies from clinics."))
    [hit] = TrackerMatcher(nlp, trackers).match(u)
    assert hit == {
        "tracker": "case_study", "phrase": "case studies", "role": "rep", "speaker": "Rep",
        "start": hit["start"], "text": "Here are two case studies from clinics."}
    assert 1.0 < hit["start"] < 5.0  # the second sentence starts part way through the turn


def test_counts_list_every_tracker(matcher, nlp, shipped):
    hits = matcher.match(utterances(
        nlp, ("rep", "Who else is part of the decision? What is your budget?"), ("rep", "What is your budget?")))
    counts = tracker_counts(hits, shipped)
    assert list(counts) == [t.name for t in shipped]
    assert counts["decision_process"] == 2 and counts["budget_question"] == 2
    assert counts["recap"] == 0 and counts["case_study"] == 0


@pytest.mark.parametrize("text, message", [
    ("next_steps: [\n", "not valid YAML"),
    ("- next_steps\n", "must map tracker names"),
    ("next_steps: follow up\n", "must be a mapping"),
    ("next_steps:\n  who: rep\n", "needs `phrases`"),
    ("next_steps:\n  who: rep\n  phrases: []\n", "needs `phrases`"),
    ("next_steps:\n  who: boss\n  phrases: [follow up]\n", "who='boss'"),
    ("", "must map tracker names"),
])
def test_malformed_trackers_file(tmp_path, text, message):
    path = tmp_path / "trackers.yaml"
    path.write_text(text)
    with pytest.raises(CallscanError, match=message) as err:
        load_trackers(path)
    assert str(path) in str(err.value)


def test_missing_trackers_file(tmp_path):
    with pytest.raises(CallscanError, match="cannot read trackers file"):
        load_trackers(tmp_path / "nope.yaml")


def test_docs_parsed_without_the_parser_still_match(nlp, matcher):
    from callscan.analyze.nlp import LEMMAS_ONLY
    from callscan.analyze.utterances import Utterance

    with nlp.select_pipes(enable=[p for p in LEMMAS_ONLY if p in nlp.pipe_names]):
        doc = nlp("Thanks. Here are two case studies.")
    [hit] = matcher.match([Utterance(0, doc.text, 3.0, 6.0, "Rep", "rep", doc)])
    assert (hit["tracker"], hit["start"], hit["text"]) == ("case_study", 3.0, "Thanks. Here are two case studies.")
