"""The objection engine: stance, roles, multi-label, unattributed speech, train and eval."""

import json
import shutil

import pytest

from callscan.analyze import load_analyzer
from callscan.analyze.nlp import load_nlp
from callscan.analyze.objections import load_engine, read_jsonl, score
from callscan.cli import cli
from callscan.config import models_dir
from callscan.schema import Call, Segment, Source, Transcript

OBJECTIONS = models_dir() / "objections"


@pytest.fixture(scope="module")
def predict():
    engine, nlp = load_engine(OBJECTIONS), load_nlp()

    def run(*texts):
        return [[c for c, _ in p] for p in engine.model.predict_docs(list(nlp.pipe(texts)))]

    return run


def test_clear_objections_are_found(predict):
    assert predict("Honestly the price is way more than we budgeted for.") == [["price"]]
    assert predict("We got burned by a vendor that promised the same thing last year.")[0][:1] == ["trust"]


@pytest.mark.parametrize("text", [
    "Price isn't really an issue for us.",
    "I can sign off on this myself.",
    "The budget is approved.",
    "Does the price include support?",
    "cost isn't the thing I'm worried about",
    "That sounds great, when can we start?",
])
def test_negated_resolved_and_neutral_lines_are_not_objections(predict, text):
    assert predict(text) == [[]]


def test_two_objections_in_one_line(predict):
    assert set(predict("Your competitor quoted us about half of that.")[0]) == {"price", "competitor"}


def make_call(segments, channels="stereo"):
    source = Source(path="x.wav", name="x.wav", kind="audio", content_hash="0" * 64, size=1, date="2026-10-01")
    transcript = Transcript(segments=segments, duration=segments[-1].end, channels=channels)
    return Call(id="x", source=source, transcript=transcript)


def test_only_the_customer_is_analysed_when_roles_are_known():
    call = make_call([
        Segment(0, 3, "A lot of our clients worry about price at first.", "Dana", "rep", 0),
        Segment(3, 6, "Your competitor quoted us about half of that.", "Customer", "customer", 1),
    ])
    load_analyzer(models_dir()).analyze(call)
    assert {o["category"] for o in call.objections} == {"price", "competitor"}
    assert all(o["segment"] == 1 and o["attributed"] and o["speaker"] == "Customer" for o in call.objections)
    assert call.objections[0]["text"] == "Your competitor quoted us about half of that."
    assert (call.objections[0]["start"], call.objections[0]["end"]) == (3, 6)


def test_unknown_roles_analyse_everything_as_unattributed():
    call = make_call([
        Segment(0, 3, "Thanks for taking the time today.", "Speaker", "unknown"),
        Segment(3, 6, "Honestly the price is way more than we budgeted for.", "Speaker", "unknown"),
    ], channels="mono")
    load_analyzer(models_dir()).analyze(call)
    assert [o["category"] for o in call.objections] == ["price"]
    assert call.objections[0]["attributed"] is False
    assert call.metrics["attributed"] is False


def test_eval_json_has_exactly_the_specified_shape(runner, tmp_path):
    data = tmp_path / "e.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in [
        {"text": "The price is far too high for us.", "labels": ["price"]},
        {"text": "Price isn't really an issue.", "labels": []},
        {"text": "We'd need our board to approve it.", "labels": ["authority"]},
    ]))
    result = runner.invoke(cli, ["eval", str(data), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert set(out) == {"per_category", "micro", "macro_f1", "none_false_positive_rate", "n"}
    assert out["n"] == 3 and set(out["micro"]) == {"precision", "recall", "f1"}
    assert set(out["per_category"]) == set(load_engine(OBJECTIONS).taxonomy.ids)
    assert set(out["per_category"]["price"]) == {"precision", "recall", "f1", "support"}
    assert out["per_category"]["price"]["support"] == 1


def test_eval_rejects_unknown_labels_and_bad_lines(runner, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "x", "labels": ["pricing"]}\n')
    result = runner.invoke(cli, ["eval", str(bad)])
    assert result.exit_code == 1 and "not in the taxonomy: pricing" in result.output
    bad.write_text('{"text": "x"}\n')
    assert "expected" in runner.invoke(cli, ["eval", str(bad)]).output


def test_score_counts_false_positives_on_empty_lines():
    result = score([["price"], [], []], [["price"], ["timing"], []], ["price", "timing"])
    assert result["none_false_positive_rate"] == 0.5
    assert result["per_category"]["price"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1}
    assert result["per_category"]["timing"]["precision"] == 0.0


def test_train_rebuilds_a_working_model_reproducibly(runner, tmp_path):
    models = tmp_path / "models"
    shutil.copytree(models_dir(), models, ignore=shutil.ignore_patterns("model", "*.jsonl"))
    data = models / "objections" / "data"
    rows = read_jsonl(OBJECTIONS / "data" / "train.jsonl")
    # A small but complete slice keeps the test quick: 40 lines per category plus negatives.
    keep, per = [], {}
    for row in rows:
        key = row["labels"][0] if row["labels"] else "none"
        if per.get(key, 0) < (120 if key == "none" else 40):
            per[key] = per.get(key, 0) + 1
            keep.append(row)
    (data / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in keep))
    shutil.copy(OBJECTIONS / "data" / "dev.jsonl", data / "dev.jsonl")
    first = runner.invoke(cli, ["train", "--models", str(models)])
    assert first.exit_code == 0, first.output
    assert "macro F1" in first.stdout
    model_file = models / "objections" / "model" / "classifier.joblib"
    meta = json.loads((models / "objections" / "model" / "meta.json").read_text())
    assert meta["n_train"] == len(keep) and meta["dev"]["n"] > 0
    probe = tmp_path / "probe.jsonl"
    probe.write_text(json.dumps({"text": "The price is way too high for our budget.", "labels": ["price"]}) + "\n")
    before = runner.invoke(cli, ["eval", str(probe), "--json", "--models", str(models)]).stdout
    model_file.unlink()
    assert runner.invoke(cli, ["train", "--models", str(models)]).exit_code == 0
    load_engine.cache_clear()
    assert runner.invoke(cli, ["eval", str(probe), "--json", "--models", str(models)]).stdout == before
