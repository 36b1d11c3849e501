"""calls.csv metadata and the date fallbacks."""

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callscan.errors import InputError
from callscan.ingest.manifest import date_from_name, parse_manifest
from callscan.ingest.sources import Candidate, make_source


def test_known_and_extra_columns():
    m = parse_manifest("file,date,rep,account,stage,campaign\na.mp3,2026-10-05,Dana,Acme,demo,fall\n")
    row = m.rows["a.mp3"]
    assert (row.date, row.rep, row.account, row.stage, row.meta) == ("2026-10-05", "Dana", "Acme", "demo", {"campaign": "fall"})


def test_bad_rows_are_reported_not_fatal():
    m = parse_manifest("file,date,rep\n,2026-10-05,Dana\nb.mp3,05/10/2026,Marcus\n")
    assert "b.mp3" in m.rows and m.rows["b.mp3"].date is None
    assert len(m.problems) == 2


def test_manifest_without_file_column():
    with pytest.raises(InputError, match="no 'file' column"):
        parse_manifest("name,date\na,b\n")


@pytest.mark.parametrize("name, date", [
    ("2026-10-05-acme.mp3", "2026-10-05"), ("call_20261105_x.wav", "2026-11-05"),
    ("acme.mp3", None), ("2026-13-45-x.mp3", None),
])
def test_date_from_file_name(name, date):
    assert date_from_name(name) == date


def test_date_falls_back_to_manifest_then_name_then_mtime(tmp_path):
    listed = tmp_path / "2026-01-01-x.wav"
    listed.write_bytes(b"x")
    named = tmp_path / "2026-02-03-y.wav"
    named.write_bytes(b"y")
    plain = tmp_path / "z.wav"
    plain.write_bytes(b"z")
    os.utime(plain, (1_700_000_000, 1_700_000_000))
    manifest = parse_manifest("file,date,rep\n2026-01-01-x.wav,2026-03-04,Dana\n")
    src = make_source(Candidate(listed, "audio", manifest))
    assert (src.date, src.date_source, src.rep) == ("2026-03-04", "manifest", "Dana")
    assert make_source(Candidate(named, "audio", manifest)).date_source == "filename"
    assert make_source(Candidate(plain, "audio", manifest)).date_source == "mtime"


@given(st.text(max_size=300))
def test_any_manifest_text_parses_or_raises_our_error(text):
    try:
        parse_manifest(text)
    except InputError:
        pass
