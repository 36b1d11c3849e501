"""Hostile text in transcripts, speaker names, manifest fields and file names renders inert."""

import csv
import shutil

from bs4 import BeautifulSoup

from callscan.cli import cli
from conftest import AUDIO

PAYLOADS = ['<script>alert(1)</script>', '"><img src=x onerror=alert(2)>', "=HYPERLINK(\"http://evil\")",
            "+cmd|' /C calc'!A0", "@SUM(1+1)", "-2+3"]


def test_payloads_are_inert_everywhere(runner, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    cues = []
    for i, payload in enumerate(PAYLOADS):
        cues.append(f"00:00:{i * 4 + 1:02d}.000 --> 00:00:{i * 4 + 3:02d}.000\n<v {payload[:20]}>The price is way too "
                    f"high for our budget {payload}\n")
    (folder / "2026-10-05-hostile.vtt").write_text("WEBVTT\n\n" + "\n".join(cues))
    odd_audio = folder / '2026-10-06-<img src=x onerror=alert(3)>.wav'
    shutil.copy(AUDIO / "short_mono.wav", odd_audio)
    (folder / "calls.csv").write_text(
        "file,date,rep,account,stage,note\n"
        '2026-10-05-hostile.vtt,2026-10-05,"<script>alert(4)</script>","=1+2","<b>x</b>","@evil"\n'
    )
    out = tmp_path / "out"
    result = runner.invoke(cli, ["scan", str(folder), "-o", str(out), "-s", "--jobs", "1"])
    assert result.exit_code == 0, result.output
    pages = list(out.rglob("*.html"))
    assert len(pages) >= 4
    for page in pages:
        soup = BeautifulSoup(page.read_text(), "lxml")
        for script in soup.find_all("script"):
            assert "alert" not in script.get_text(), page.name
        assert not soup.find_all("img"), page.name
        assert not [t for t in soup.find_all(True) if any(a.startswith("on") for a in t.attrs)], page.name
        assert not soup.find_all("b", string="x")
    text = "".join(p.read_text() for p in pages)
    assert "&lt;script&gt;alert(4)&lt;/script&gt;" in text  # the manifest rep name, shown as text
    for name in ("objections.csv", "calls.csv"):
        with open(out / name, newline="") as handle:
            for row in csv.reader(handle):
                for cell in row:
                    assert not cell.startswith(("=", "+", "-", "@")), (name, cell)
    # No output text points outside the output folder.
    for path in out.rglob("*"):
        if path.suffix in (".html", ".json", ".csv"):
            assert str(tmp_path) not in path.read_text(), path.name
