"""Measure the objection classifier: dev split, cross-style, and an independent set.

    python bench/objection_eval.py [--seed ../shared/data/objections_seed.jsonl]

Prints one JSON object per experiment: trained on train.jsonl → scored on dev.jsonl; trained on
half the styles → scored on the other style; and, if given, scored on an independent file.
"""

import argparse
import json
import time
from pathlib import Path

from callscan.analyze.nlp import load_nlp
from callscan.analyze.objections import load_taxonomy, read_jsonl, score, train_model
from callscan.config import models_dir


def run(train, test, categories, nlp, name):
    started = time.perf_counter()
    train_docs = list(nlp.pipe([r["text"] for r in train], batch_size=256))
    model = train_model(train_docs, [r["labels"] for r in train], categories)
    test_docs = list(nlp.pipe([r["text"] for r in test], batch_size=256))
    predicted = [[c for c, _ in p] for p in model.predict_docs(test_docs)]
    result = score([r["labels"] for r in test], predicted, categories)
    worst = sorted(result["per_category"].items(), key=lambda kv: kv[1]["f1"])[:3]
    print(json.dumps({"experiment": name, "n_train": len(train), "n_test": len(test),
                      "macro_f1": result["macro_f1"], "micro_f1": result["micro"]["f1"],
                      "none_fp_rate": result["none_false_positive_rate"],
                      "worst": {k: v["f1"] for k, v in worst}, "objection_threshold": model.objection_threshold,
                      "seconds": round(time.perf_counter() - started, 1)}))
    return model


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=Path, help="an independently written labelled file")
    args = parser.parse_args()
    folder = models_dir() / "objections"
    categories = load_taxonomy(folder / "taxonomy.yaml").ids
    train = read_jsonl(folder / "data" / "train.jsonl")
    dev = read_jsonl(folder / "data" / "dev.jsonl")
    nlp = load_nlp()
    model = run(train, dev, categories, nlp, "train→dev")
    everything = train + dev
    for held_out in sorted({r.get("style") for r in everything}):
        rest = [r for r in everything if r.get("style") != held_out]
        half = rest[::2]
        run(half, [r for r in everything if r.get("style") == held_out], categories, nlp, f"half of other styles→{held_out}")
    if args.seed:
        seed = read_jsonl(args.seed)
        docs = list(nlp.pipe([r["text"] for r in seed], batch_size=256))
        predicted = [[c for c, _ in p] for p in model.predict_docs(docs)]
        result = score([r["labels"] for r in seed], predicted, categories)
        print(json.dumps({"experiment": f"train→{args.seed.name}", "macro_f1": result["macro_f1"],
                          "micro_f1": result["micro"]["f1"], "none_fp_rate": result["none_false_positive_rate"],
                          "per_category_f1": {k: v["f1"] for k, v in result["per_category"].items()}}))


if __name__ == "__main__":
    main()
