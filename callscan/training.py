"""`callscan train` and `callscan eval`: rebuild the objection model from the repo's data, score it."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

from .analyze.nlp import load_nlp
from .analyze.objections import (Featurizer, ObjectionModel, load_engine, load_taxonomy, read_jsonl, score,
                                  train_model)


@dataclass
class TrainResult:
    model_dir: Path
    n_train: int
    dev: dict | None
    seconds: float


def train(objections_dir: Path, out_dir: Path | None = None) -> TrainResult:
    """Train on ``data/train.jsonl``, score on ``data/dev.jsonl``, save to ``model/``."""
    started = time.perf_counter()
    categories = load_taxonomy(objections_dir / "taxonomy.yaml").ids
    train_path = objections_dir / "data" / "train.jsonl"
    records = read_jsonl(train_path)
    nlp = load_nlp()
    docs = list(nlp.pipe((r["text"] for r in records), batch_size=256))
    model = train_model(docs, [r["labels"] for r in records], categories, Featurizer())
    dev_path = objections_dir / "data" / "dev.jsonl"
    dev = evaluate_model(model, read_jsonl(dev_path), categories) if dev_path.is_file() else None
    model.meta.update({
        "trained_on": train_path.name,
        "train_sha256": hashlib.sha256(train_path.read_bytes()).hexdigest(),
        "n_train": len(records),
        "objection_threshold": model.objection_threshold,
        "category_threshold": model.category_threshold,
        "dev": dev and {k: dev[k] for k in ("macro_f1", "micro", "none_false_positive_rate", "n")},
    })
    target = out_dir or objections_dir / "model"
    model.save(target)
    load_engine.cache_clear()
    return TrainResult(target, len(records), dev, time.perf_counter() - started)


def evaluate_model(model: ObjectionModel, records: list[dict], categories: list[str]) -> dict:
    docs = list(load_nlp().pipe((r["text"] for r in records), batch_size=256))
    predicted = [[c for c, _ in p] for p in model.predict_docs(docs)]
    return score([r["labels"] for r in records], predicted, categories)


def evaluate(path: Path, objections_dir: Path) -> dict:
    """Score the shipped model on a labelled JSONL file (one customer utterance per line)."""
    engine = load_engine(objections_dir)
    records = read_jsonl(path)
    unknown = sorted({label for r in records for label in r["labels"]} - set(engine.taxonomy.ids))
    if unknown:
        from .errors import CallscanError

        raise CallscanError(f"{path.name} uses labels not in the taxonomy: {', '.join(unknown)}")
    return evaluate_model(engine.model, records, engine.model.categories)
