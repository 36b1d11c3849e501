"""The reporting layer from a store built by hand: pages, clips, exports, escaping, CLI filters."""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from bs4 import BeautifulSoup

from callscan.cli import cli
from callscan.report import ReportOptions, write_report
from callscan.report.charts import Bar, bar_chart
from callscan.report.exports import safe_cell
from callscan.report.views import periods_between, parse_date
from callscan.schema import Call, Segment, Source, Transcript
from callscan.store import Store
from conftest import AUDIO

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
FORMULA = "=HYPERLINK(\"http://evil.example\",\"click\") is what the price feels like"
MAX_CLIP_BYTES = 60_000  # a few seconds at 32 kbit/s is ~20 kB; a WAV would be 100 kB+


def _call(name: str, path: Path | str, kind: str, date: str, rep: str, segments: list[Segment], *,
          objections=(), mentions=(), keywords=(), trackers=(), metrics=None, account=None,
          role_confidence: float | None = 1.0, channels: str = "stereo", duration: float = 8.0) -> Call:
    source = Source(path=str(path), name=name, kind=kind, content_hash=(name * 8).encode().hex()[:40], size=1000,
                    date=date, date_source="manifest", rep=rep, account=account, stage="discovery",
                    meta={"campaign": "fall-promo"})
    transcript = Transcript(segments=segments, duration=duration, channels=channels, model="tiny-test")
    base = {"rep_talk_share": 0.5, "rep_questions": 2, "longest_rep_monologue": 3.0, "longest_customer_story": 3.1,
            "switches_per_minute": 4.0, "objections": len({o["segment"] for o in objections}),
            "talk_seconds": {"rep": 2.7, "customer": 3.1},
            "tracker_counts": {"introduces_agenda": 1, "discovery_questions": 0}}
    return Call(id=source.call_id, source=source, transcript=transcript, role_confidence=role_confidence,
                objections=list(objections), mentions=list(mentions), keywords=list(keywords),
                trackers=list(trackers), metrics={**base, **(metrics or {})})


def _objection(category, seg: Segment, index: int, confidence=0.9, attributed=True, text=None):
    return {"category": category, "confidence": confidence, "text": text or seg.text, "start": seg.start,
            "end": seg.end, "speaker": seg.speaker, "segment": index, "attributed": attributed}


def _stereo_call() -> Call:
    segs = [Segment(0.4, 3.1, "Thanks for joining, how are things at Acme?", "Dana Whitfield", "rep", 0),
            Segment(3.9, 7.0, "Busy, but honestly we are happy with our spreadsheets.", "Customer", "customer", 1),
            Segment(7.1, 7.4, "Fair enough, what does it not do?", "Dana Whitfield", "rep", 0)]
    return _call(
        "2026-10-05-acme.ogg", AUDIO / "short_stereo.ogg", "audio", "2026-10-05", "Dana Whitfield", segs,
        account="Acme", objections=[_objection("status_quo", segs[1], 1)],
        mentions=[{"type": "competitor", "value": "PayFlow", "context": "using", "text": "We use PayFlow today.",
                   "start": 4.0, "end": 5.0, "speaker": "Customer", "role": "customer"},
                  {"type": "trigger", "value": "hiring", "context": None, "text": "We are hiring.", "start": 5.0,
                   "end": 6.0, "speaker": "Customer", "role": "customer"}],
        keywords=[{"phrase": "spreadsheet", "text": "spreadsheets", "count": 1}],
        trackers=[{"tracker": "introduces_agenda", "phrase": "agenda", "role": "rep", "speaker": "Dana Whitfield",
                   "start": 0.4, "text": "Thanks for joining"}],
    )


def _mono_call() -> Call:
    """Roles unknown (mono), hostile text everywhere a user's data reaches a page."""
    segs = [Segment(0.15, 2.98, "The price is too high for our budget this quarter.", "Speaker", "unknown"),
            Segment(3.0, 3.1, f"I typed {SCRIPT} and {IMG} into the chat", "Speaker", "unknown")]
    return _call(
        "2026-10-14-mono.wav", AUDIO / "short_mono.wav", "audio", "2026-10-14", "Marcus Bell", segs,
        account=f"Evil {IMG} & Co", channels="mono", role_confidence=None, duration=3.135,
        objections=[_objection("price", segs[0], 0, confidence=0.8, attributed=False),
                    _objection("price", segs[1], 1, confidence=0.3, attributed=False, text=FORMULA)],
        keywords=[{"phrase": "budget", "text": "budget", "count": 1}, {"phrase": SCRIPT, "text": SCRIPT, "count": 1}],
        metrics={"rep_talk_share": None, "attributed": False},
    )


def _transcript_call() -> Call:
    segs = [Segment(1.0, 3.0, "Thanks for joining.", "Dana Whitfield", "rep"),
            Segment(3.5, 6.0, "Honestly the price is too high for us.", "Sam Lee", "customer")]
    return _call("2026-10-20-zoom.vtt", "/nowhere/zoom.vtt", "transcript", "2026-10-20", "Dana Whitfield", segs,
                 account="Globex", channels="transcript", objections=[_objection("price", segs[1], 1, 0.95)],
                 keywords=[{"phrase": "price", "text": "price", "count": 1}])


def _gone_call(tmp_path: Path) -> Call:
    """Audio that was scanned once and has since been moved away."""
    segs = [Segment(0.5, 2.0, "We would need sign-off from our CFO.", "Customer", "customer", 1),
            Segment(2.2, 3.0, "Happy to help with that.", "Priya Natarajan", "rep", 0)]
    return _call("2026-11-02-gone.mp3", tmp_path / "moved-away" / "gone.mp3", "audio", "2026-11-02",
                 "Priya Natarajan", segs, account="Initech", role_confidence=0.55,
                 objections=[_objection("authority", segs[0], 0, 0.7)])


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "store.db") as db:
        for call in (_stereo_call(), _mono_call(), _transcript_call(), _gone_call(tmp_path)):
            db.save_call(call, "test")
        yield db


@pytest.fixture
def out(store, tmp_path):
    folder = tmp_path / "out"
    write_report(store, ReportOptions(out_dir=folder))
    return folder


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "lxml")


def page_of(out: Path, call: Call) -> BeautifulSoup:
    return soup(out / "calls" / f"{call.id}.html")


# -- the briefing -----------------------------------------------------------------------------


def test_briefing_has_a_card_per_category_raised(out):
    page = soup(out / "index.html")
    cards = {a["id"] for a in page.select("article.card")}
    assert cards == {"cat-price", "cat-status_quo", "cat-authority"}
    order = [a["id"] for a in page.select("article.card")]
    assert order[0] == "cat-price"  # 2 of 4 calls, the most
    price = page.select_one("#cat-price")
    assert "Price" in price.h3.text and "decision stage" in price.select_one(".stage").text.lower()
    assert "50%" in price.select_one(".card-numbers").text
    assert "Answer it in copy" in price.text and "ROI calculator" in price.text  # taxonomy assets


def test_quotes_are_the_customers_words_attributed_first(out):
    quotes = soup(out / "index.html").select("#cat-price .quote")
    texts = [q.blockquote.get_text(" ", strip=True) for q in quotes]
    assert texts[0] == "Honestly the price is too high for us."  # attributed beats a higher-scoring unknown
    assert "The price is too high for our budget this quarter." in texts
    unknown = [q for q in quotes if "unattributed" in q["class"]]
    assert unknown and all("speaker unknown" in q.text for q in unknown)
    link = quotes[0].select_one(".cite a")["href"]
    assert link.startswith("calls/") and link.endswith("#seg-1")


def test_quote_clips_exist_are_small_mp3_and_cut_from_the_right_call(out):
    import av

    audios = soup(out / "index.html").select("article.card audio")
    assert len(audios) >= 3  # acme, mono (x2: different sentences) — not the transcript nor the gone call
    for audio in audios:
        assert audio.has_attr("controls") and audio["preload"] == "metadata"
        clip = out / audio["src"]
        assert clip.is_file() and clip.suffix == ".mp3" and 0 < clip.stat().st_size < MAX_CLIP_BYTES
        with av.open(str(clip)) as container:
            assert 1.0 < container.duration / 1e6 < 10.0
    status_quo = soup(out / "index.html").select_one("#cat-status_quo audio")["src"]
    assert status_quo.endswith("-c1.mp3")  # the customer's channel of the stereo call


def test_missing_audio_and_transcripts_are_said_not_hidden(out, store, tmp_path):
    page = soup(out / "index.html")
    authority = page.select_one("#cat-authority .quote")
    assert authority.audio is None and "audio not available" in authority.text
    price = [q for q in page.select("#cat-price .quote") if "Sam Lee" not in q.text and "Globex" in q.text][0]
    assert price.audio is None and "no audio" in price.text
    gone = page_of(out, _gone_call(tmp_path))
    assert gone.select_one("#player") is None and "audio not available" in gone.text.lower()
    zoom = page_of(out, _transcript_call())
    assert zoom.audio is None and zoom.script is None and zoom.select(".transcript button") == []


def test_header_numbers_and_unknown_roles_are_stated(out):
    page = soup(out / "index.html")
    facts = page.select_one(".facts").get_text(" ", strip=True)
    assert "4 calls" in facts and "3 of 4" in facts and "3 reps" in facts.replace("reps:", "reps")
    assert "1 of 4 calls had unknown speaker roles" in page.select_one(".notice").get_text(" ", strip=True)
    assert "5 Oct 2026" in page.select_one(".period").text and "2 Nov 2026" in page.select_one(".period").text


def test_chart_is_accessible_svg_with_numbers(out):
    page = soup(out / "index.html")
    chart = page.select_one("figure.chart-box svg")
    assert chart["role"] == "img" and chart["aria-label"]
    assert chart.title.text and "Price: 2 of 4 calls (50%)" in chart.desc.text
    assert "2 of 4 calls · 50%" in chart.get_text(" ")
    sparks = page.select(".trend-table svg.spark")
    assert len(sparks) == 3 and all(s.title and s.desc for s in sparks)
    assert "+1 call vs previous week" in page.select_one("#cat-authority .change").text


def test_bar_chart_escapes_labels():
    svg = str(bar_chart([Bar(SCRIPT, 1, 0, 2)], IMG, SCRIPT))
    page = BeautifulSoup(svg, "lxml")
    assert page.find("script") is None and page.find("img") is None
    assert SCRIPT in page.get_text()


def test_mentions_and_phrases_sections(out):
    page = soup(out / "index.html")
    competitors = page.select_one("#h-competitors").find_parent("section")
    row = competitors.select_one("tbody tr")
    assert row.th.text == "PayFlow" and "using" in row.text and "We use PayFlow today." in row.text
    triggers = page.select_one("#h-triggers").find_parent("section")
    assert "Hiring" in triggers.text
    phrases = page.select_one(".phrase-list").get_text(" ", strip=True)
    assert "spreadsheets" in phrases and "budget" in phrases


def test_calls_table_links_every_call(out):
    rows = soup(out / "index.html").select("table.calls tbody tr")
    assert len(rows) == 4
    for row in rows:
        assert (out / row.a["href"]).is_file()


# -- call pages ---------------------------------------------------------------------------------


def test_call_page_player_transcript_and_rep_response(out):
    page = page_of(out, _stereo_call())
    player = page.select_one("audio#player")
    assert player["preload"] == "metadata" and player["src"].startswith("../audio/")
    audio_file = out / "calls" / player["src"]
    # An ogg recording is copied as it is (browsers play it); others are re-encoded to mp3.
    assert audio_file.suffix == ".ogg" and 0 < audio_file.stat().st_size < 200_000
    assert audio_file.read_bytes() == (AUDIO / "short_stereo.ogg").read_bytes()
    lines = page.select(".transcript .line")
    assert len(lines) == 3 and lines[1]["data-start"] == "3.90"
    assert all(line.button and line.button["type"] == "button" for line in lines)  # keyboard-usable
    assert "objection" in lines[1]["class"] and lines[1].select_one(".chip").text == "Status quo"
    review = page.select_one(".review")
    assert "happy with our spreadsheets" in review.select_one(".said").text
    assert "what does it not do?" in review.select_one(".answer").text  # the rep's next turn
    csp = page.find("meta", {"http-equiv": "Content-Security-Policy"})["content"]
    assert len(page.find_all("script")) == 1 and "script-src 'sha256-" in csp and "default-src 'none'" in csp


def test_call_page_metrics_trackers_keywords_metadata(out):
    page = page_of(out, _stereo_call())
    stats = page.select_one(".stats").get_text(" ", strip=True)
    assert "50% : 50%" in stats and "Rep questions 2" in stats and "0:03" in stats
    assert page.select_one("svg.split")["role"] == "img"
    trackers = page.select_one("#h-trackers").find_parent("section").get_text(" ", strip=True)
    assert "Introduces agenda 1×" in trackers and "Not heard" in trackers and "Discovery questions" in trackers
    assert "spreadsheets" in page.select_one("#h-keywords").find_parent("section").text
    details = page.select_one(".details").get_text(" ", strip=True)
    assert "Acme" in details and "fall-promo" in details and "2026-10-05-acme.ogg" in details


def test_unknown_and_low_confidence_roles_are_stated(out, tmp_path):
    mono = page_of(out, _mono_call())
    notice = " ".join(n.text for n in mono.select(".notice"))
    assert "not identified" in notice
    answer = mono.select_one(".review .answer").get_text(" ", strip=True)
    assert answer.startswith("Said next (speaker unknown)") and "I typed" in answer
    assert mono.select_one(".stats").get_text(" ", strip=True).startswith("Talk ratio rep : customer —")
    gone = page_of(out, _gone_call(tmp_path))
    assert "low confidence (55%)" in " ".join(n.text for n in gone.select(".notice"))


def test_hostile_text_renders_inert(out):
    for path in [out / "index.html", out / "reps.html", *(out / "calls").glob("*.html")]:
        page = soup(path)
        assert page.find("img") is None, path
        for script in page.find_all("script"):
            assert "alert" not in script.text, path
    mono = page_of(out, _mono_call())
    assert SCRIPT in mono.select(".transcript .text")[1].text and IMG in mono.h1.text


# -- files, links, privacy ----------------------------------------------------------------------


def _local_refs(page: BeautifulSoup) -> list[str]:
    refs = [a["href"] for a in page.find_all("a", href=True)] + [s["src"] for s in page.find_all(src=True)]
    return [r for r in refs if not r.startswith("#")]


def test_every_link_and_source_resolves_inside_out(out):
    for path in [out / "index.html", out / "reps.html", *(out / "calls").glob("*.html")]:
        page = soup(path)
        for ref in _local_refs(page):
            parts = urlsplit(ref)
            assert not parts.scheme and not parts.netloc and not ref.startswith("/"), (path, ref)
            target = (path.parent / unquote(parts.path)).resolve()
            assert target.is_file() and out.resolve() in target.parents, (path, ref)
            if parts.fragment and target.suffix == ".html":
                assert soup(target).find(id=parts.fragment), (path, ref)


def test_no_absolute_paths_in_any_output(out, tmp_path):
    forbidden = [str(tmp_path), str(AUDIO.resolve()), str(Path.home()), "/nowhere/"]
    for path in out.rglob("*"):
        if path.is_file() and path.suffix in (".html", ".csv", ".json"):
            text = path.read_text(encoding="utf-8")
            for bad in forbidden:
                assert bad not in text, (path, bad)


def test_no_temporary_files_left_and_pages_are_readable(out):
    leftovers = [p for p in out.rglob("*") if p.name.startswith(".") and p.suffix == ".tmp"]
    assert leftovers == []
    assert (out / "index.html").stat().st_mode & 0o044  # shareable, not mkstemp's private 0600


def test_audio_is_reused_when_newer_than_the_recording(store, out):
    copy = next((out / "audio").glob("*.mp3"))
    clip = next((out / "clips").glob("*.mp3"))
    os.utime(copy, (1, 2_000_000_000))
    os.utime(clip, (1, 2_000_000_000))
    write_report(store, ReportOptions(out_dir=out))
    assert copy.stat().st_mtime == 2_000_000_000 and clip.stat().st_mtime == 2_000_000_000


def test_existing_copy_survives_the_recording_moving_away(tmp_path):
    moved = tmp_path / "calls" / "acme.ogg"
    moved.parent.mkdir()
    shutil.copy(AUDIO / "short_stereo.ogg", moved)
    call = _stereo_call()
    call.source.path = str(moved)
    out = tmp_path / "out"
    with Store(tmp_path / "s.db") as db:
        db.save_call(call, "test")
        write_report(db, ReportOptions(out_dir=out))
        moved.unlink()
        write_report(db, ReportOptions(out_dir=out))
    assert soup(out / "calls" / f"{call.id}.html").select_one("#player") is not None
    assert soup(out / "index.html").select_one("#cat-status_quo audio") is not None


# -- exports ------------------------------------------------------------------------------------


def test_csv_cells_that_look_like_formulas_are_neutralised(out):
    rows = list(csv.DictReader((out / "objections.csv").open(encoding="utf-8", newline="")))
    assert len(rows) == 5
    formula = [r for r in rows if "HYPERLINK" in r["quote"]]
    assert formula and formula[0]["quote"].startswith("'=")
    assert {r["attributed"] for r in rows} == {"True", "False"}
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@")), value
    for value, expected in [("=1+1", "'=1+1"), ("+1", "'+1"), ("-cmd", "'-cmd"), ("@SUM(A1)", "'@SUM(A1)"),
                            ("plain", "plain"), (-1.5, -1.5), (None, None)]:
        assert safe_cell(value) == expected
    calls = list(csv.DictReader((out / "calls.csv").open(encoding="utf-8", newline="")))
    assert len(calls) == 4 and {c["file"] for c in calls} >= {"2026-10-05-acme.ogg", "2026-10-20-zoom.vtt"}


def test_summary_json_matches_the_briefing(out):
    summary = json.loads((out / "summary.json").read_text())
    assert summary["calls"] == 4 and summary["calls_with_known_roles"] == 3
    assert summary["reps"] == ["Dana Whitfield", "Marcus Bell", "Priya Natarajan"]
    price = summary["objections"][0]
    assert price["category"] == "price" and price["calls"] == 2 and price["attributed_calls"] == 1
    assert price["share"] == 0.5 and price["times"] == 3
    assert sum(p["calls"] for p in price["trend"]) == 2
    assert summary["competitors"] == [{"value": "PayFlow", "calls": 1, "times": 1, "contexts": {"using": 1}}]
    assert summary["hours_of_audio"] == round((8.0 + 3.135 + 8.0) / 3600, 3)


# -- reps ---------------------------------------------------------------------------------------


def test_reps_page_medians_next_to_team(out):
    page = soup(out / "reps.html")
    rows = {r.th.text: r for r in page.select("table.reps tbody tr")}
    assert set(rows) == {"Dana Whitfield", "Marcus Bell", "Priya Natarajan"}
    marcus = rows["Marcus Bell"].select("td.measure")
    assert marcus[0].select_one(".value").text == "—"  # talk share needs known roles
    assert marcus[3].select_one(".value").text == "2"  # objections met: counted without roles
    assert all(cell.svg["role"] == "img" for r in rows.values() for cell in r.select("td.measure"))
    assert "team" in rows["Dana Whitfield"].select("td.measure")[0].text
    assert "3 of 4 calls" in page.select_one(".lede").text


# -- the command --------------------------------------------------------------------------------


def test_report_command_filters_by_date_and_rep(runner, store, tmp_path):
    out = tmp_path / "filtered"
    args = ["report", "--db", str(store.path), "-o", str(out)]
    result = runner.invoke(cli, [*args, "--since", "2026-10-10", "--until", "2026-10-31"])
    assert result.exit_code == 0, result.output
    rows = soup(out / "index.html").select("table.calls tbody tr")
    assert sorted(r.a.text for r in rows) == ["Evil \"><img src=x onerror=alert(1)> & Co", "Globex"]
    assert json.loads((out / "summary.json").read_text())["calls"] == 2
    result = runner.invoke(cli, [*args, "--rep", "dana whitfield", "--by", "month"])
    assert result.exit_code == 0, result.output
    page = soup(out / "index.html")
    assert [r.a.text for r in page.select("table.calls tbody tr")] == ["Acme", "Globex"]
    assert "Oct 2026" in page.select_one(".trend-table svg.spark desc").text
    bad = runner.invoke(cli, [*args, "--since", "2026-11-01", "--until", "2026-10-01"])
    assert bad.exit_code == 2 and "--since" in bad.output


def test_template_dir_overrides_one_partial(runner, store, tmp_path):
    custom = tmp_path / "templates"
    custom.mkdir()
    (custom / "_quote.html").write_text('<li class="my-quote">{{ q.text }}</li>\n')
    out = tmp_path / "custom"
    result = runner.invoke(cli, ["report", "--db", str(store.path), "-o", str(out), "--template-dir", str(custom)])
    assert result.exit_code == 0, result.output
    page = soup(out / "index.html")
    assert page.select(".my-quote") and not page.select("li.quote")
    assert page.select("article.card")  # everything else still comes from the package


def test_empty_period_renders_a_clear_page(runner, store, tmp_path):
    out = tmp_path / "empty"
    result = runner.invoke(cli, ["report", "--db", str(store.path), "-o", str(out), "--since", "2030-01-01"])
    assert result.exit_code == 0, result.output
    assert "No calls in this period" in soup(out / "index.html").text
    assert json.loads((out / "summary.json").read_text())["calls"] == 0


def test_periods_include_empty_weeks_and_months():
    weeks = periods_between(parse_date("2026-10-05"), parse_date("2026-10-27"), "week")
    assert [p.key for p in weeks] == ["2026-10-05", "2026-10-12", "2026-10-19", "2026-10-26"]
    months = periods_between(parse_date("2026-11-30"), parse_date("2027-01-02"), "month")
    assert [p.label for p in months] == ["Nov 2026", "Dec 2026", "Jan 2027"]


def test_objections_in_one_customer_turn_share_one_review():
    from callscan.report.callpage import build_call_page
    from callscan.report.clips import AudioResult
    from callscan.report.views import load_config

    segs = [Segment(0.0, 1.0, "So what does it cost?", "Rep", "rep", 0),
            Segment(1.2, 3.0, "Our last agency burned us.", "Customer", "customer", 1),
            Segment(3.1, 5.0, "And it is too expensive.", "Customer", "customer", 1),
            Segment(5.2, 7.0, "Let me show you the results others got.", "Rep", "rep", 0),
            Segment(7.2, 8.0, "We also need our CFO to sign.", "Customer", "customer", 1)]
    call = _call("turns.ogg", AUDIO / "short_stereo.ogg", "audio", "2026-10-05", "Rep", segs,
                 objections=[_objection("trust", segs[1], 1), _objection("price", segs[2], 2),
                             _objection("authority", segs[4], 4)])
    page = build_call_page(call, load_config(), [], AudioResult(call_href="audio/x.mp3"))
    assert [[line.index for line in r.lines] for r in page.reviews] == [[1, 2], [4]]
    assert page.reviews[0].response[0].text.startswith("Let me show you")
    assert page.reviews[1].response == [] and "did not speak" in page.reviews[1].note
