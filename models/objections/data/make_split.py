"""Merge hand-written source files into a fixed train/dev split (run once when data is added).

The split is by a hash of the normalised text, so it is stable: adding lines never moves an
existing line between train and dev. Duplicates (after normalising case and spacing) are dropped.

    python models/objections/data/make_split.py src_*.jsonl
"""

import hashlib
import json
import sys
from pathlib import Path

HERE = Path(__file__).parent
DEV_SHARE = 20  # percent


def normalise(text: str) -> str:
    return " ".join(text.lower().split())


def main(paths: list[str]) -> None:
    existing = []
    for name in ("train.jsonl", "dev.jsonl"):
        if (HERE / name).exists():
            existing += [json.loads(l) for l in (HERE / name).read_text().splitlines() if l.strip()]
    seen, train, dev = set(), [], []
    for record in existing + [json.loads(l) for p in paths for l in Path(p).read_text().splitlines() if l.strip()]:
        key = normalise(record["text"])
        if key in seen:
            continue
        seen.add(key)
        bucket = int(hashlib.sha1(key.encode()).hexdigest(), 16) % 100
        (dev if bucket < DEV_SHARE else train).append(record)
    for name, rows in (("train.jsonl", train), ("dev.jsonl", dev)):
        (HERE / name).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
        print(name, len(rows))


if __name__ == "__main__":
    main(sys.argv[1:])
