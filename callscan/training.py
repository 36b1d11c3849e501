"""`callscan train` and `callscan eval`: rebuild the objection model from the repo's data, score it."""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .analyze.nlp import load_nlp
from .analyze.encoder import ENCODER_FILE, ENCODER_META, TOKENIZER_FILE, EncoderScorer, has_encoder
from .analyze.objections import (META_FILE, MODEL_FILE, Featurizer, ObjectionModel, in_calibration, load_engine,
                                  load_taxonomy, read_jsonl, score, train_model)

ENCODER_PARTS = (ENCODER_FILE, TOKENIZER_FILE, ENCODER_META)


ENCODER_MODES = ("reuse", "finetune", "none")


@dataclass
class TrainResult:
    model_dir: Path
    n_train: int
    dev: dict | None
    seconds: float
    encoder: str  # "fine-tuned", "reused", "not used" (and why)


def train(objections_dir: Path, out_dir: Path | None = None, encoder: str = "reuse",
          finetune_options=None, progress: Callable[[str], None] = lambda _: None) -> TrainResult:
    """Train on ``data/train.jsonl``, score on ``data/dev.jsonl``, save to ``model/``.

    ``encoder``: "finetune" fine-tunes the sentence encoder too (needs the train extra, ~22 min
    on 2 cores); "reuse" keeps the encoder already in ``model/`` and refits everything around
    it; "none" trains the linear models alone.
    """
    started = time.perf_counter()
    categories = load_taxonomy(objections_dir / "taxonomy.yaml").ids
    train_path = objections_dir / "data" / "train.jsonl"
    records = read_jsonl(train_path)
    target = out_dir or objections_dir / "model"
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        scorer, how = _prepare_encoder(encoder, records, categories, objections_dir / "model", staging,
                                       finetune_options, progress)
        progress("fitting the linear models (5-fold cross-validation)")
        docs = list(load_nlp().pipe((r["text"] for r in records), batch_size=256))
        model = train_model(docs, [r["labels"] for r in records], categories, Featurizer(), encoder=scorer)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)  # the old model stays as it was
        raise
    if scorer is not None and model.encoder is None:
        how = f"{how}, but the blend gave it no weight (not used)"
        for name in ENCODER_PARTS:
            (staging / name).unlink(missing_ok=True)
    dev_path = objections_dir / "data" / "dev.jsonl"
    dev = evaluate_model(model, read_jsonl(dev_path), categories) if dev_path.is_file() else None
    model.meta.update({
        "trained_on": train_path.name,
        "train_sha256": hashlib.sha256(train_path.read_bytes()).hexdigest(),
        "n_train": len(records),
        "objection_threshold": model.objection_threshold,
        "category_threshold": model.category_threshold,
        "encoder": how,
        "linear_weight": model.linear_weight,
        "linear_category_weight": model.linear_category_weight,
        "dev": dev and {k: dev[k] for k in ("macro_f1", "micro", "none_false_positive_rate", "n")},
    })
    model.save(staging)
    _replace(target, staging)
    load_engine.cache_clear()
    return TrainResult(target, len(records), dev, time.perf_counter() - started, how)


def _prepare_encoder(mode: str, records: list[dict], categories: list[str], current: Path, staging: Path,
                     finetune_options, progress) -> tuple[EncoderScorer | None, str]:
    """The encoder to blend in (already in ``staging``), and a few words on where it came from."""
    if mode == "none":
        return None, "not used (--encoder none)"
    if mode == "finetune":
        from .finetune import finetune

        fitting = [r for r in records if not in_calibration(r["text"])]
        progress(f"fine-tuning the encoder on {len(fitting)} lines (the other {len(records) - len(fitting)} pick the blend)")
        finetune([r["text"] for r in fitting], [r["labels"] for r in fitting], categories, staging,
                 finetune_options, progress)
        return EncoderScorer.load(staging), "fine-tuned"
    if not has_encoder(current):
        return None, f"not used (none in {current}; `--encoder finetune` trains one)"
    if json.loads((current / ENCODER_META).read_text()).get("outputs") != ["objection", *categories]:
        return None, "not used (it was trained for other categories; `--encoder finetune` retrains it)"
    for name in ENCODER_PARTS:
        shutil.copy(current / name, staging / name)
    return EncoderScorer.load(staging), "reused"


def _replace(target: Path, staging: Path) -> None:
    """Swap the new model in only once it is complete: a failed run leaves the old one working."""
    target.mkdir(parents=True, exist_ok=True)
    for old in target.iterdir():
        if old.is_file() and not (staging / old.name).exists() and old.name in (*ENCODER_PARTS, MODEL_FILE, META_FILE):
            old.unlink()
    for new in staging.iterdir():
        new.replace(target / new.name)
    staging.rmdir()


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
