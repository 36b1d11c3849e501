"""The sentence encoder half of the objection model: loading, blending, the cascade, training."""

import json
import shutil
import sys

import numpy as np
import pytest

from callscan.analyze.encoder import EncoderScorer, has_encoder
from callscan.analyze.nlp import load_nlp
from callscan.analyze.objections import (_decide_all, _label_matrix, _macro_f1, decide, in_calibration, load_engine,
                                         read_jsonl, score)
from callscan.cli import cli
from callscan.config import models_dir

OBJECTIONS = models_dir() / "objections"
SHIPPED = OBJECTIONS / "model"
needs_shipped_encoder = pytest.mark.skipif(not has_encoder(SHIPPED), reason="the shipped model has no encoder")


def test_vectorised_search_scores_exactly_like_decide_and_score():
    rng = np.random.default_rng(3)
    categories = ["price", "timing", "trust"]
    gold = [[], ["price"], ["timing", "trust"], [], ["trust"], ["price", "timing"]] * 5
    objection = rng.random(len(gold))
    per_category = rng.random((len(gold), len(categories)))
    for objection_t, category_t in [(0.3, 0.5), (0.5, 0.3), (0.8, 0.8), (0.0, 1.0)]:
        slow = [sorted(c for c, _ in decide(objection[i], dict(zip(categories, per_category[i])), objection_t,
                                            category_t)) for i in range(len(gold))]
        fast = _decide_all(objection, per_category, objection_t, category_t)
        assert [sorted(c for c, on in zip(categories, row) if on) for row in fast] == slow
        f1, false_positive = _macro_f1(fast, _label_matrix(gold, categories))
        expected = score(gold, slow, categories)
        assert f1 == pytest.approx(expected["macro_f1"], abs=1e-4)
        assert false_positive == pytest.approx(expected["none_false_positive_rate"], abs=1e-4)


def test_calibration_lines_are_about_a_tenth_and_fixed_by_text():
    texts = [r["text"] for r in read_jsonl(OBJECTIONS / "data" / "train.jsonl")]
    share = sum(map(in_calibration, texts)) / len(texts)
    assert 0.08 < share < 0.12
    assert in_calibration(texts[0]) == in_calibration("  " + texts[0].upper() + " ")


@needs_shipped_encoder
def test_scores_do_not_depend_on_batching_or_order():
    scorer = EncoderScorer.load(SHIPPED)
    texts = ["The price is too high.", "ok", "we would need our CFO and the whole board to sign this off first",
             "Honestly we're happy with the spreadsheets we have.", "does it integrate with salesforce"]
    together = scorer.scores(texts)
    alone = np.vstack([scorer.scores([t]) for t in reversed(texts)])[::-1]
    assert together.shape == (len(texts), len(scorer.outputs))
    np.testing.assert_allclose(together, alone, atol=1e-5)
    assert scorer.scores([]).shape == (0, len(scorer.outputs))


@needs_shipped_encoder
def test_the_cascade_changes_no_decision(monkeypatch):
    model = load_engine(OBJECTIONS).model
    assert model.encoder is not None and model.linear_weight < 1
    texts = [r["text"] for r in read_jsonl(OBJECTIONS / "data" / "dev.jsonl")[:400]]
    docs = list(load_nlp().pipe(texts))
    calls = []
    real_scores = model.encoder.scores
    monkeypatch.setattr(model.encoder, "scores", lambda batch: calls.append(len(batch)) or real_scores(batch))
    cascaded = model.predict_docs(docs)
    skipped = len(docs) - sum(calls)
    monkeypatch.setattr(model, "needs_encoder", lambda p: np.arange(len(p)))
    everything = model.predict_docs(docs)
    assert skipped > 0  # the cascade did spare the encoder some lines...
    assert cascaded == everything  # ...and decided every line exactly as the full blend does


@needs_shipped_encoder
def test_retraining_reuses_the_shipped_encoder(runner, tmp_path, small_training_copy):
    models = small_training_copy(with_model=True)
    result = runner.invoke(cli, ["train", "--models", str(models)])
    assert result.exit_code == 0, result.output
    meta = json.loads((models / "objections" / "model" / "meta.json").read_text())
    assert meta["encoder"].startswith("reused")
    # Either the blend uses the encoder and its files are there, or it does not and they are gone.
    assert (meta["linear_weight"] < 1) == has_encoder(models / "objections" / "model")
    assert not (models / "objections" / "model.partial").exists()


@needs_shipped_encoder
def test_an_encoder_for_other_categories_is_not_blended_in(runner, tmp_path, small_training_copy):
    models = small_training_copy(with_model=True)
    taxonomy = models / "objections" / "taxonomy.yaml"
    taxonomy.write_text(taxonomy.read_text().replace("\n  security:", "\n  data_security:", 1))
    data = models / "objections" / "data"
    for name in ("train.jsonl", "dev.jsonl"):
        rows = read_jsonl(data / name)
        renamed = [{**r, "labels": ["data_security" if c == "security" else c for c in r["labels"]]} for r in rows]
        (data / name).write_text("".join(json.dumps(r) + "\n" for r in renamed))
    result = runner.invoke(cli, ["train", "--models", str(models)])
    assert result.exit_code == 0, result.output
    assert "trained for other categories" in result.output
    assert not has_encoder(models / "objections" / "model")


def test_finetuning_without_the_train_extra_is_a_one_line_error(runner, tmp_path, small_training_copy, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # as if torch were not installed
    models = small_training_copy(with_model=False)
    result = runner.invoke(cli, ["train", "--models", str(models), "--encoder", "finetune"])
    assert result.exit_code == 1
    assert "needs torch" in result.output and "pip install -e '.[train]'" in result.output
    assert "Traceback" not in result.output
    assert not (models / "objections" / "model.partial").exists()


def test_finetuning_writes_a_loadable_encoder(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    pytest.importorskip("all_minilm_l6_v2")
    from callscan.finetune import FinetuneOptions, finetune

    rows = read_jsonl(OBJECTIONS / "data" / "train.jsonl")[:64]
    categories = ["price", "timing", "authority", "need", "competitor", "status_quo", "trust", "features",
                  "implementation", "contract", "security"]
    finetune([r["text"] for r in rows], [r["labels"] for r in rows], categories, tmp_path,
             FinetuneOptions(max_steps=2, batch_size=8))
    scorer = EncoderScorer.load(tmp_path)
    assert scorer.outputs == ["objection", *categories]
    scores = scorer.scores(["The price is too high.", "sounds good"])
    assert scores.shape == (2, 12) and ((scores >= 0) & (scores <= 1)).all()


@pytest.fixture
def small_training_copy(tmp_path):
    """A models/ copy with a small but complete training slice (fast to train)."""
    def make(with_model: bool):
        models = tmp_path / "models"
        ignore = shutil.ignore_patterns("*.jsonl") if with_model else shutil.ignore_patterns("model", "*.jsonl")
        shutil.copytree(models_dir(), models, ignore=ignore)
        data = models / "objections" / "data"
        keep, per = [], {}
        for row in read_jsonl(OBJECTIONS / "data" / "train.jsonl"):
            key = row["labels"][0] if row["labels"] else "none"
            if per.get(key, 0) < (150 if key == "none" else 50):
                per[key] = per.get(key, 0) + 1
                keep.append(row)
        (data / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in keep))
        dev = read_jsonl(OBJECTIONS / "data" / "dev.jsonl")[:500]
        (data / "dev.jsonl").write_text("".join(json.dumps(r) + "\n" for r in dev))
        return models
    return make


@needs_shipped_encoder
def test_encoding_beside_the_parse_gives_the_worker_result(monkeypatch):
    """The main process encodes every customer line while spaCy parses; a worker runs the
    cascade after it. Both must find the same objections."""
    from callscan.analyze import load_analyzer
    from callscan.analyze.encoder import WORKER_ENV
    from callscan.schema import Call, Segment, Source, Transcript

    lines = [("rep", "What's holding you back?"), ("customer", "Honestly we're happy with the spreadsheets."),
             ("customer", "And your competitor quoted us half that."), ("rep", "Fair enough."),
             ("customer", "Sounds good, send it over."), ("customer", "I need to run this by my CFO first.")]
    def call():
        segments = [Segment(i, i + 1, text, role.title(), role, i % 2) for i, (role, text) in enumerate(lines)]
        source = Source(path="x.wav", name="x.wav", kind="audio", content_hash="0" * 64, size=1, date="2026-10-01")
        return Call(id="x", source=source, transcript=Transcript(segments=segments, duration=6, channels="stereo"))
    analyzer = load_analyzer(models_dir())
    background = analyzer.analyze(call()).objections
    monkeypatch.setenv(WORKER_ENV, "1")
    assert analyzer._encode_in_background([call()]) is None
    assert analyzer.analyze(call()).objections == background
    assert len({o["segment"] for o in background}) >= 2  # something to compare


def test_a_changed_encoder_file_changes_the_analysis_key(tmp_path):
    """Stored calls are re-analysed when only the encoder is swapped."""
    from callscan.analyze import fingerprint

    models = tmp_path / "models"
    shutil.copytree(models_dir(), models, ignore=shutil.ignore_patterns("*.jsonl", "classifier.joblib"))
    encoder = models / "objections" / "model" / "encoder.onnx"
    encoder.write_bytes(b"first")
    before = fingerprint(models)
    encoder.write_bytes(b"second")
    fingerprint.cache_clear()
    assert fingerprint(models) != before
