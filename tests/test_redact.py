"""Personal data removal: text, word times for muting, and the whole call."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callscan.redact import find, luhn_ok, redact_call, redact_text
from callscan.schema import Call, Segment, Source, Transcript, Word


@pytest.mark.parametrize("text, kind", [
    ("mail me at jo.smith+deals@acme-corp.co.uk today", "email"),
    ("it's jo at acme dot com", "email"),
    ("my card is 4111 1111 1111 1111 ok", "card"),
    ("ssn 123-45-6789", "ssn"),
    ("call me on (415) 555-0132", "phone"),
    ("call me on +1 415.555.0132", "phone"),
    ("it's four one five five five five zero one three two", "number"),
])
def test_finds_each_kind(text, kind):
    assert [f.kind for f in find(text)] == [kind]
    assert "[" + kind + "]" in redact_text(text)


def test_card_numbers_must_pass_luhn():
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    assert all(f.kind != "card" for f in find("order 4111 1111 1111 1112 shipped"))


def test_ordinary_numbers_and_money_stay():
    text = "We have 204 employees and it costs $24,000 a year, since 2019."
    assert redact_text(text) == text


def test_redact_call_maps_findings_to_word_times_and_leaves_original():
    words = [Word(0.0, 0.3, "Email"), Word(0.3, 0.5, "me"), Word(0.5, 0.7, "at"),
             Word(0.7, 1.6, "jo@acme.com"), Word(1.6, 2.0, "please.")]
    segment = Segment(0.0, 2.0, "Email me at jo@acme.com please.", "Customer", "customer", 1, words)
    source = Source(path="a.wav", name="a.wav", kind="audio", content_hash="0" * 64, size=1)
    call = Call(id="a", source=source, transcript=Transcript([segment], 2.0),
                objections=[{"category": "trust", "text": segment.text}],
                mentions=[{"type": "money", "value": "jo@acme.com", "text": segment.text}])
    redacted, mute = redact_call(call)
    assert redacted.transcript.segments[0].text == "Email me at [email] please."
    assert mute == [(0.7, 1.6)]
    assert [w.word for w in redacted.transcript.segments[0].words][3] == "[redacted]"
    assert redacted.objections[0]["text"] == "Email me at [email] please."
    assert redacted.mentions == []
    assert call.transcript.segments[0].text.endswith("jo@acme.com please.")  # the original is untouched


@given(st.text(max_size=200))
def test_redaction_never_crashes_and_is_idempotent(text):
    once = redact_text(text)
    assert redact_text(once) == once


def test_briefing_always_redacts_and_call_pages_on_request(runner, tmp_path):
    """End to end through `scan`: a transcript with personal data, rendered with and without --redact."""
    import json

    from callscan.cli import cli

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "2026-10-05-pii.vtt").write_text(
        "WEBVTT\n\n00:00:01.000 --> 00:00:04.000\n<v Rep>Can I get your email?\n\n"
        "00:00:04.500 --> 00:00:09.000\n<v Pat>Honestly the price is way more than we budgeted for, "
        "email pat@example.com or call 415-555-0132.\n"
    )
    (folder / "calls.csv").write_text("file,rep\n2026-10-05-pii.vtt,Rep\n")
    out = tmp_path / "out"
    assert runner.invoke(cli, ["scan", str(folder), "-o", str(out), "-s"]).exit_code == 0
    index = (out / "index.html").read_text()
    assert "pat@example.com" not in index and "415-555-0132" not in index
    assert "redacted in this briefing" in index
    for name in ("objections.csv", "summary.json"):
        assert "pat@example.com" not in (out / name).read_text()
    call_json = next((out / "calls").glob("*.json")).read_text()
    assert "pat@example.com" in call_json  # not asked to redact the call pages
    out2 = tmp_path / "out2"
    assert runner.invoke(cli, ["scan", str(folder), "-o", str(out2), "-s", "--redact"]).exit_code == 0
    for path in (out2 / "calls").iterdir():
        text = path.read_text()
        assert "pat@example.com" not in text and "415-555-0132" not in text, path.name
    data = json.loads(next((out2 / "calls").glob("*.json")).read_text())
    assert "[email]" in data["segments"][1]["text"] and "[phone]" in data["segments"][1]["text"]


def test_muting_silences_the_span_in_every_channel():
    import numpy as np

    from callscan.ingest.audio import decode
    from callscan.report.clips import mute
    from conftest import AUDIO

    audio = decode(AUDIO / "short_stereo.ogg")
    muted = mute(audio, [(1.0, 2.0)])
    for index in range(len(audio.channels)):
        before, after = audio.samples(index), muted.samples(index)
        assert np.abs(after[16000:32000]).max() == 0
        assert np.array_equal(before[:15000], after[:15000]) and np.array_equal(before[33000:], after[33000:])
