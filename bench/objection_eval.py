"""Measure the objection classifier: dev split, cross-style, and an independent set.

    python bench/objection_eval.py [--seed ../shared/data/objections_seed.jsonl] [--held-out STYLE ...]
                                   [--together] [--encoder none|finetune] [--epochs N]

Prints one JSON object per experiment: trained on train.jsonl → scored on dev.jsonl; for each
held-out style (all styles unless --held-out names some), trained on half of the lines of the
other styles → scored on that style; and, if given, scored on an independent file. Each line is
parsed once. One held-out experiment takes ~2 minutes on 2 cores with ~25k lines.

``--encoder finetune`` (needs the train extra) fine-tunes a fresh encoder for every training set,
so no encoder ever saw a held-out style (~10 min per experiment on 2 cores); ``--together``
holds all the named styles out at once, so that costs one fine-tune, not one per style.
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

from callscan.analyze.nlp import load_nlp
from callscan.analyze.objections import load_taxonomy, read_jsonl, score, train_model
from callscan.config import models_dir


def run(train, tests, categories, docs, name, args):
    """Train on ``train``; score on each (test name, lines) in ``tests``."""
    started = time.perf_counter()
    model = train_model([docs[r["text"]] for r in train], [r["labels"] for r in train], categories,
                        encoder=fine_tuned_encoder(train, categories, args) if args.encoder == "finetune" else None)
    for test_name, test in tests:
        predicted = [[c for c, _ in p] for p in model.predict_docs([docs[r["text"]] for r in test])]
        result = score([r["labels"] for r in test], predicted, categories)
        worst = sorted(result["per_category"].items(), key=lambda kv: kv[1]["f1"])[:3]
        print(json.dumps({"experiment": f"{name}→{test_name}", "encoder": args.encoder, "n_train": len(train),
                          "n_test": len(test), "macro_f1": result["macro_f1"], "micro_f1": result["micro"]["f1"],
                          "none_fp_rate": result["none_false_positive_rate"],
                          "worst": {k: v["f1"] for k, v in worst}, "objection_threshold": model.objection_threshold,
                          "linear_weight": model.linear_weight,
                          "seconds": round(time.perf_counter() - started, 1)}), flush=True)
    return model


def fine_tuned_encoder(train, categories, args):
    from callscan.analyze.encoder import EncoderScorer
    from callscan.analyze.objections import in_calibration
    from callscan.finetune import FinetuneOptions, finetune

    fitting = [r for r in train if not in_calibration(r["text"])]
    folder = Path(tempfile.mkdtemp(prefix="callscan-encoder-"))
    finetune([r["text"] for r in fitting], [r["labels"] for r in fitting], categories, folder,
             FinetuneOptions(epochs=args.epochs))
    return EncoderScorer.load(folder, threads=2)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=Path, help="an independently written labelled file")
    parser.add_argument("--held-out", nargs="*", help="only these styles as held-out sets (default: every style)")
    parser.add_argument("--no-dev", action="store_true", help="skip train→dev")
    parser.add_argument("--together", action="store_true", help="hold all the named styles out in one experiment")
    parser.add_argument("--encoder", choices=["none", "finetune"], default="none",
                        help="blend in an encoder fine-tuned on each training set (needs the train extra)")
    parser.add_argument("--epochs", type=float, default=3.0, help="fine-tuning epochs with --encoder finetune")
    args = parser.parse_args()
    folder = models_dir() / "objections"
    categories = load_taxonomy(folder / "taxonomy.yaml").ids
    train = read_jsonl(folder / "data" / "train.jsonl")
    dev = read_jsonl(folder / "data" / "dev.jsonl")
    seed = read_jsonl(args.seed) if args.seed else []
    nlp = load_nlp()
    texts = list(dict.fromkeys(r["text"] for r in train + dev + seed))
    docs = dict(zip(texts, nlp.pipe(texts, batch_size=512)))
    model = None if args.no_dev and not seed else run(train, [("dev", dev)], categories, docs, "train", args)
    everything = train + dev
    styles = args.held_out or sorted({r.get("style") for r in everything})
    groups = [styles] if args.together else [[style] for style in styles]
    for group in groups:
        rest = [r for r in everything if r.get("style") not in group]
        tests = [(style, [r for r in everything if r.get("style") == style]) for style in group]
        run(rest[::2], tests, categories, docs, "half of the other styles", args)
    if seed:
        predicted = [[c for c, _ in p] for p in model.predict_docs([docs[r["text"]] for r in seed])]
        result = score([r["labels"] for r in seed], predicted, categories)
        print(json.dumps({"experiment": f"train→{args.seed.name}", "macro_f1": result["macro_f1"],
                          "micro_f1": result["micro"]["f1"], "none_fp_rate": result["none_false_positive_rate"],
                          "per_category_f1": {k: v["f1"] for k, v in result["per_category"].items()}}))


if __name__ == "__main__":
    main()
