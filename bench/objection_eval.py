"""Measure the objection classifier: dev split, cross-style, and an independent set.

    python bench/objection_eval.py [--seed ../shared/data/objections_seed.jsonl] [--held-out STYLE ...]

Prints one JSON object per experiment: trained on train.jsonl → scored on dev.jsonl; for each
held-out style (all styles unless --held-out names some), trained on half of the lines of the
other styles → scored on that style; and, if given, scored on an independent file. Each line is
parsed once. One held-out experiment takes ~2 minutes on 2 cores with ~25k lines.
"""

import argparse
import json
import time
from pathlib import Path

from callscan.analyze.nlp import load_nlp
from callscan.analyze.objections import load_taxonomy, read_jsonl, score, train_model
from callscan.config import models_dir


def run(train, test, categories, docs, name):
    started = time.perf_counter()
    model = train_model([docs[r["text"]] for r in train], [r["labels"] for r in train], categories)
    test_docs = [docs[r["text"]] for r in test]
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
    parser.add_argument("--held-out", nargs="*", help="only these styles as held-out sets (default: every style)")
    parser.add_argument("--no-dev", action="store_true", help="skip train→dev")
    args = parser.parse_args()
    folder = models_dir() / "objections"
    categories = load_taxonomy(folder / "taxonomy.yaml").ids
    train = read_jsonl(folder / "data" / "train.jsonl")
    dev = read_jsonl(folder / "data" / "dev.jsonl")
    seed = read_jsonl(args.seed) if args.seed else []
    nlp = load_nlp()
    texts = list(dict.fromkeys(r["text"] for r in train + dev + seed))
    docs = dict(zip(texts, nlp.pipe(texts, batch_size=512)))
    model = None if args.no_dev and not seed else run(train, dev, categories, docs, "train→dev")
    everything = train + dev
    for held_out in args.held_out or sorted({r.get("style") for r in everything}):
        rest = [r for r in everything if r.get("style") != held_out]
        half = rest[::2]
        run(half, [r for r in everything if r.get("style") == held_out], categories, docs, f"half of other styles→{held_out}")
    if seed:
        predicted = [[c for c, _ in p] for p in model.predict_docs([docs[r["text"]] for r in seed])]
        result = score([r["labels"] for r in seed], predicted, categories)
        print(json.dumps({"experiment": f"train→{args.seed.name}", "macro_f1": result["macro_f1"],
                          "micro_f1": result["micro"]["f1"], "none_fp_rate": result["none_false_positive_rate"],
                          "per_category_f1": {k: v["f1"] for k, v in result["per_category"].items()}}))


if __name__ == "__main__":
    main()
