"""Find the inputs: walk folders, classify files, hash contents, attach manifest metadata."""

from __future__ import annotations

import fnmatch
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from ..config import AUDIO_EXTENSIONS, MANIFEST_NAME, TRANSCRIPT_EXTENSIONS
from ..errors import InputError
from ..schema import Source
from .manifest import Manifest, date_from_mtime, date_from_name, read_manifest

IGNORE_FILE = ".callscanignore"


@dataclass
class Rejected:
    """An input that will not be processed, with the one-line reason."""

    path: Path
    reason: str


@dataclass
class Candidate:
    path: Path
    kind: str  # audio | transcript
    manifest: Manifest | None


def discover(inputs: list[Path], problems: list[str]) -> Iterator[Candidate | Rejected]:
    """Yield every file to process (or reject) under the given files and folders, in order.

    Folders are walked recursively; hidden files, ``calls.csv`` and anything matched by a
    ``.callscanignore`` (glob patterns, one per line) in the walked folder are left out.
    """
    seen: set[Path] = set()
    manifests: dict[Path, Manifest | None] = {}
    for given in inputs:
        if given.is_dir():
            manifest = _folder_manifest(given, manifests, problems)
            patterns = _ignore_patterns(given)
            for path in _walk(given, patterns):
                yield from _once(path, manifest, seen, explicit=False)
        elif given.exists() or given.is_symlink():
            manifest = _folder_manifest(given.parent, manifests, problems)
            yield from _once(given, manifest, seen, explicit=True)
        else:
            yield Rejected(given, "no such file or folder")


def _once(path: Path, manifest: Manifest | None, seen: set[Path], explicit: bool) -> Iterator[Candidate | Rejected]:
    try:
        key = path.resolve()
    except (OSError, RuntimeError):
        yield Rejected(path, "cannot resolve path (symlink loop?)")
        return
    if key in seen:
        return
    seen.add(key)
    kind = classify(path)
    if kind is None:
        yield Rejected(path, f"unsupported file type {path.suffix or '(no extension)'!r}; expected audio or a transcript")
        return
    yield Candidate(path, kind, manifest)


def classify(path: Path) -> str | None:
    suffix = path.suffix.lower()
    if suffix in AUDIO_EXTENSIONS:
        return "audio"
    if suffix in TRANSCRIPT_EXTENSIONS:
        return "transcript"
    return None


def _walk(folder: Path, patterns: list[str]) -> Iterator[Path]:
    # followlinks=False: a symlink loop cannot trap the walk.
    for root, dirs, files in os.walk(folder, followlinks=False):
        rel_root = Path(root).relative_to(folder)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not _ignored(rel_root / d, patterns, True))
        for name in sorted(files):
            rel = rel_root / name
            if name.startswith(".") or name == MANIFEST_NAME or _ignored(rel, patterns, False):
                continue
            yield Path(root) / name


def _ignore_patterns(folder: Path) -> list[str]:
    try:
        lines = (folder / IGNORE_FILE).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _ignored(rel: Path, patterns: list[str], is_dir: bool) -> bool:
    text = rel.as_posix()
    for pattern in patterns:
        if pattern.endswith("/"):
            if is_dir and fnmatch.fnmatch(text, pattern.rstrip("/")):
                return True
        elif fnmatch.fnmatch(text, pattern) or fnmatch.fnmatch(rel.name, pattern):
            return True
    return False


def _folder_manifest(folder: Path, cache: dict[Path, Manifest | None], problems: list[str]) -> Manifest | None:
    folder = folder.resolve()
    if folder not in cache:
        path = folder / MANIFEST_NAME
        manifest = None
        if path.is_file():
            try:
                manifest = read_manifest(path)
                problems.extend(manifest.problems)
            except InputError as exc:
                problems.append(f"{path}: {exc}")
        cache[folder] = manifest
    return cache[folder]


def content_hash(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
                size += len(block)
    except PermissionError:
        raise InputError("permission denied") from None
    except IsADirectoryError:
        raise InputError("is a directory") from None
    except OSError as exc:
        raise InputError(f"cannot read file ({exc.strerror or exc})") from None
    return digest.hexdigest(), size


def make_source(candidate: Candidate) -> Source:
    """Hash the file and attach its metadata (manifest, else date in name, else mtime)."""
    path = candidate.path
    if not path.is_file():
        raise InputError("not a regular file")
    digest, size = content_hash(path)
    if size == 0:
        raise InputError("empty file (0 bytes)")
    row = candidate.manifest.lookup(path) if candidate.manifest else None
    date, date_source = (row.date, "manifest") if row and row.date else (None, None)
    if date is None:
        date, date_source = date_from_name(path.name), "filename"
    if date is None:
        date, date_source = date_from_mtime(path), "mtime"
    return Source(
        path=str(path),
        name=path.name,
        kind=candidate.kind,
        content_hash=digest,
        size=size,
        date=date,
        date_source=date_source,
        rep=row.rep if row else None,
        account=row.account if row else None,
        stage=row.stage if row else None,
        meta=dict(row.meta) if row else {},
    )
