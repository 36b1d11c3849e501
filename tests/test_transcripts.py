"""Transcript readers: WebVTT, SRT, Speaker: text, our own JSON."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callscan.errors import InputError
from callscan.ingest.transcripts import read_transcript


def read(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return read_transcript(path)


def test_vtt_voice_tags_and_name_prefixes(tmp_path):
    t = read(tmp_path, "a.vtt", (
        "WEBVTT\n\n1\n00:00:01.250 --> 00:00:04.000\n<v Dana Whitfield>Hi, thanks for joining.</v>\n\n"
        "00:00:04.500 --> 00:00:07.000\nSam: It's too <b>expensive</b> & slow.\n"
    ))
    assert [(s.speaker, s.text) for s in t.segments] == [
        ("Dana Whitfield", "Hi, thanks for joining."), ("Sam", "It's too expensive & slow.")]
    assert t.segments[0].start == 1.25 and t.segments[1].end == 7.0
    assert t.channels == "transcript"


def test_srt_with_speaker_prefix(tmp_path):
    t = read(tmp_path, "a.srt", "1\n00:00:02,500 --> 00:00:05,000\nCustomer: We use spreadsheets.\n\n"
                                "2\n00:00:05,500 --> 00:00:06,000\nRep: Got it.\n")
    assert [(s.speaker, s.start, s.text) for s in t.segments] == [
        ("Customer", 2.5, "We use spreadsheets."), ("Rep", 5.5, "Got it.")]


def test_txt_lines_with_and_without_times(tmp_path):
    t = read(tmp_path, "a.txt", "[00:10] Dana: Hello there.\nSam: Budget is frozen.\nand it will stay that way\n")
    assert [s.speaker for s in t.segments] == ["Dana", "Sam", "Sam"]
    assert t.segments[0].start == 10.0
    assert t.segments[1].start >= t.segments[0].end  # untimed lines follow on


def test_own_json_round_trip(tmp_path):
    data = {"segments": [{"start": 0, "end": 2, "text": "hi", "speaker": "Rep", "role": "rep",
                          "words": [{"start": 0, "end": 1, "word": "hi", "prob": 0.9}]}]}
    t = read(tmp_path, "a.json", json.dumps(data))
    assert t.segments[0].role == "rep" and t.segments[0].words[0].word == "hi"


@pytest.mark.parametrize("name, text, reason", [
    ("a.vtt", "not a vtt file", "malformed WebVTT"),
    ("a.srt", "1\nnonsense\n", "malformed SRT|no transcript lines"),
    ("a.json", "{bad json", "malformed JSON"),
    ("a.json", '{"turns": []}', "no 'segments' list"),
    ("a.json", '{"segments": [{"start": "x"}]}', "malformed"),
    ("a.txt", "   \n\n", "empty transcript"),
])
def test_malformed_transcripts_raise_input_error(tmp_path, name, text, reason):
    with pytest.raises(InputError, match=reason):
        read(tmp_path, name, text)


def test_non_utf8_transcript(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(b"Dana: caf\xe9 \xff\xfe")
    with pytest.raises(InputError, match="not UTF-8"):
        read_transcript(path)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.text(max_size=400), ext=st.sampled_from([".vtt", ".srt", ".txt", ".json"]))
def test_any_text_parses_or_raises_our_error(tmp_path, body, ext):
    path = tmp_path / f"fuzz{ext}"
    path.write_text(body, encoding="utf-8", errors="surrogatepass") if False else path.write_bytes(
        body.encode("utf-8", "surrogatepass"))
    try:
        t = read_transcript(path)
    except InputError:
        return
    assert t.segments and all(s.end >= s.start for s in t.segments)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cues=st.lists(st.tuples(st.integers(0, 36000), st.integers(0, 5000), st.text(min_size=1, max_size=40)),
                     min_size=1, max_size=5))
def test_generated_vtt_files_parse_or_raise_our_error(tmp_path, cues):
    def stamp(ms):
        return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"
    text = "WEBVTT\n\n" + "\n".join(f"{stamp(s)} --> {stamp(s + d)}\n{body}\n" for s, d, body in cues)
    path = tmp_path / "gen.vtt"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    try:
        read_transcript(path)
    except InputError:
        pass
