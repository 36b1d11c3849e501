import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

DATA = Path(__file__).parent / "data"
AUDIO = DATA / "audio"


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture(scope="session")
def clips():
    """The bundled test clips and what is said in them."""
    return {c["file"]: c for c in json.loads((AUDIO / "clips.json").read_text())["clips"]}


@pytest.fixture
def calls_dir(tmp_path):
    """A folder with a mono clip, a stereo clip, a transcript and a manifest."""
    folder = tmp_path / "calls"
    folder.mkdir()
    shutil.copy(AUDIO / "short_mono.wav", folder / "2026-10-05-mono.wav")
    shutil.copy(AUDIO / "short_stereo.ogg", folder / "stereo-call.ogg")
    (folder / "zoom.vtt").write_text(
        "WEBVTT\n\n00:00:01.000 --> 00:00:03.000\n<v Dana Whitfield>Thanks for joining.\n\n"
        "00:00:03.500 --> 00:00:06.000\n<v Sam Lee>Honestly the price is too high for us.\n"
    )
    (folder / "calls.csv").write_text(
        "file,date,rep,account,stage,campaign\n"
        "stereo-call.ogg,2026-10-12,Dana Whitfield,Acme,discovery,fall-promo\n"
        "zoom.vtt,2026-10-19,Dana Whitfield,Globex,demo,\n"
    )
    return folder


def words(text: str) -> set[str]:
    return {w.strip(".,?!'\"").lower() for w in text.split() if w.strip(".,?!'\"")}
