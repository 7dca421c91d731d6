"""Every fine-tune reports itself against the task's classical baseline (issue 18, item 1):
the fine-tuned model, the zero-shot model (where meaningful) and the baseline, measured on a
held-out part of the user's data, stored in the checkpoint's metadata and model card, and
printed by the CLI. Tiny untrained checkpoints, tiny data written by the tests."""

import json
import os

import numpy as np
import pytest
from series_data import seasonal_series

import model_zoo
from model_zoo import comparison
from model_zoo.errors import InputError

CARD_TITLE = "## On the fine-tuning data: fine-tuned, zero-shot and classical baseline"


def _card(directory):
    with open(os.path.join(directory, "README.md"), encoding="utf-8") as f:
        return f.read()


def _saved_comparison(directory):
    with open(os.path.join(directory, "metadata.json"), encoding="utf-8") as f:
        return json.load(f)["metrics"]["finetune"]["comparison"]


# -- the record and its rendering ---------------------------------------------------------------


def test_record_verdict_and_table_both_ways():
    split = {"rule": "the last 20% of the series, by time", "train": 80, "validation": 10,
             "test": 30}
    models = {"fine-tuned": "m fine-tuned", "zero-shot": "m", "baseline": "seasonal naive"}
    rows = {"fine-tuned": {"mase": 0.8, "rmse": 2.0}, "zero-shot": {"mase": 1.1, "rmse": 3.0},
            "baseline": {"mase": 0.9, "rmse": 2.5}}
    wins = comparison.build(rows, "mase", False, split, models)
    assert wins["beats_baseline"] and wins["verdict"].startswith("The fine-tuned model beats")
    loses = comparison.build({**rows, "fine-tuned": {"mase": 1.0, "rmse": 2.0}}, "mase", False,
                             split, models, {"extra": "why not"})
    assert not loses["beats_baseline"]
    ties = comparison.build({**rows, "fine-tuned": {"mase": 0.9}}, "mase", False, split, models)
    assert not ties["beats_baseline"]
    assert ties["verdict"].startswith("The fine-tuned model only ties with the classical")
    assert loses["verdict"].startswith("The classical baseline beats this model on your data: "
                                       "mase 1 against 0.9 for seasonal naive")
    text = comparison.table_lines(loses)
    assert "on the held-out part of your data (30 items)" in loses["verdict"]
    assert "(zero-shot) was better" not in loses["verdict"]
    better_before = comparison.build({**rows, "zero-shot": {"mase": 0.5}}, "mase", False,
                                     {**split, "unit": "values"}, models)
    assert better_before["verdict"].endswith("The model before fine-tuning (zero-shot) was "
                                             "better still: mase 0.5.")
    assert "(30 values)" in better_before["verdict"]
    assert "unit" not in comparison.table_lines(better_before)[-2]
    text = comparison.table_lines(loses)
    assert text[0].split() == ["model", "mase", "rmse", "what"]
    assert text[1].split()[:3] == ["fine-tuned", "1", "2"]
    assert len({line.index("what") if "what" in line else None for line in text[:1]}) == 1
    assert "not measured: why not" in text[4] and "train 80, validation 10, test 30" in text[5]
    markdown = comparison.table_lines(loses, markdown=True)
    assert markdown[0] == "| model | mase | rmse | what |" and markdown[2].startswith("| fine")
    # Higher is better for accuracy.
    acc = comparison.build({"fine-tuned": {"accuracy": 0.7}, "baseline": {"accuracy": 0.6}},
                           "accuracy", True, split, models)
    assert acc["beats_baseline"]
    for bad in (1.0, -0.1, float("nan"), True, "0.2"):
        with pytest.raises(InputError, match="test_fraction"):
            comparison.check_fraction(bad)


def test_the_strongest_of_several_baselines_decides():
    split = {"rule": "20% of the pairs, at random", "train": 800, "validation": 100,
             "test": 100, "unit": "pairs"}
    models = {"fine-tuned": "m fine-tuned", "zero-shot": "m", "baseline": "nearest pair",
              "baseline (copy source)": "the source copied unchanged"}
    rows = {"fine-tuned": {"bleu": 10.0}, "zero-shot": {"bleu": 1.0},
            "baseline": {"bleu": 6.8}, "baseline (copy source)": {"bleu": 19.3}}
    # The second baseline is stronger: it decides, although the model beats the first.
    record = comparison.build(rows, "bleu", True, split, models)
    assert record["baselines"] == ["baseline", "baseline (copy source)"]
    assert record["strongest_baseline"] == "baseline (copy source)"
    assert record["beats_baseline"] is False
    assert record["verdict"].startswith(
        'The classical baseline beats this model on your data: bleu 10 against 19.3 for the '
        'source copied unchanged ("baseline (copy source)", the strongest of the classical '
        'baselines; also "baseline" 6.8)')
    assert json.loads(json.dumps(record)) == record
    # The table marks every baseline and the one that decides; the others are unmarked.
    text = comparison.table_lines(record)
    assert text[3].startswith("baseline ") and text[3].endswith("[classical baseline]")
    assert text[4].startswith("baseline (copy source)")
    assert text[4].endswith("[classical baseline, the strongest: decides]")
    assert not any("[classical" in line for line in text[1:3])
    # Lower is better: the smaller value is the stronger baseline; the first wins a tie.
    mase = comparison.build({"fine-tuned": {"mase": 0.8}, "baseline": {"mase": 0.9},
                             "baseline (ets)": {"mase": 0.7}}, "mase", False, split, {})
    assert mase["strongest_baseline"] == "baseline (ets)" and not mase["beats_baseline"]
    tie = comparison.build({"fine-tuned": {"mase": 0.8}, "baseline": {"mase": 0.7},
                            "baseline (ets)": {"mase": 0.7}}, "mase", False, split, {})
    assert tie["strongest_baseline"] == "baseline"
    # A baseline without a finite value never decides while another has one.
    nan = comparison.build({"fine-tuned": {"mase": 0.8}, "baseline": {"mase": float("nan")},
                            "baseline (ets)": {"mase": 0.9}}, "mase", False, split, {})
    assert nan["strongest_baseline"] == "baseline (ets)" and nan["beats_baseline"]
    # A task names its baselines explicitly (any row name); "baseline" is always one.
    named = comparison.build({**rows, "copy": {"bleu": 19.3}}, "bleu", True, split, models,
                             baselines=["copy"])
    assert named["baselines"] == ["baseline", "copy"]
    assert named["strongest_baseline"] == "copy" and not named["beats_baseline"]
    for bad in (["missing"], ["fine-tuned"], ["zero-shot"]):
        with pytest.raises(InputError, match=r"Every classical baseline must be a row .* "
                                             r"Received: baselines="):
            comparison.build(rows, "bleu", True, split, models, baselines=bad)
    with pytest.raises(InputError, match=r"needs a \"fine-tuned\" and a \"baseline\" row. "
                                         r"Received: rows=\['fine-tuned'\]"):
        comparison.build({"fine-tuned": {"bleu": 1.0}}, "bleu", True, split, models)


def test_a_record_from_before_several_baselines_reads_as_before():
    # Written before `baselines` existed: its extra row was not a baseline; "baseline" decided.
    old = {"metric": "bleu", "higher_is_better": True,
           "split": {"rule": "the given test pairs", "train": 8, "validation": 2, "test": 4,
                     "unit": "pairs"},
           "rows": {"fine-tuned": {"bleu": 10.0}, "baseline": {"bleu": 6.8},
                    "copy source": {"bleu": 19.3}},
           "models": {"fine-tuned": "m", "baseline": "nearest pair", "copy source": "copied"},
           "skipped": {}, "beats_baseline": True, "verdict": "stored sentence"}
    assert comparison.baseline_names(old) == ["baseline"]
    assert comparison.strongest_baseline(old) == "baseline"
    assert comparison.verdict(old).startswith("The fine-tuned model beats the classical "
                                              "baseline")
    assert comparison.verdict(old).endswith("bleu 10 against 6.8 for nearest pair.")
    text = comparison.table_lines(old)
    assert not any("[classical" in line for line in text) and text[-1] == "stored sentence"
    assert text[3].split()[:3] == ["copy", "source", "19.3"]


# -- forecasting ------------------------------------------------------------------------------


def test_forecaster_finetune_compares_on_the_last_fifth(tiny_forecaster_dir, tmp_path):
    from model_zoo.tasks.forecasting import Forecaster

    series = seasonal_series(150, seed=3) * 3 + 500
    out = str(tmp_path / "mine")
    tuned = model_zoo.finetune(tiny_forecaster_dir, series, out=out, epochs=2,
                               strategy="full")
    c = tuned.finetune_metrics["comparison"]
    assert set(c["rows"]) == {"fine-tuned", "zero-shot", "baseline", "baseline (ETS)"}
    assert not c["skipped"] and c["metric"] == "mase" and c["higher_is_better"] is False
    assert c["split"] == {"rule": "the last 30 values (about 20%, whole horizons), by time",
                          "train": 90, "validation": 30, "test": 30, "unit": "values"}
    # The rows are the task's own evaluate on the same held-out values ...
    assert c["rows"]["fine-tuned"]["mase"] == pytest.approx(tuned.evaluate(series, 30)["mase"])
    parent = model_zoo.load(tiny_forecaster_dir)
    zero_shot = Forecaster(parent.model, {**parent.preprocessing,
                                          "scaler": tuned.preprocessing["scaler"]})
    assert c["rows"]["zero-shot"]["mase"] == pytest.approx(zero_shot.evaluate(series, 30)["mase"])
    assert tuned.scaler.mean == pytest.approx(np.mean(series[:90]))  # fitted on training only
    # ... and seasonal naive (lag 12), recomputed here by hand.
    errors = [np.abs(series[t:t + 6] - series[t - 12:t - 6]) for t in range(120, 145, 6)]
    scale = np.mean(np.abs(series[12:120] - series[:108]))
    assert c["rows"]["baseline"]["mase"] == pytest.approx(np.mean(errors) / scale)
    assert c["rows"]["baseline"]["origins"] == 5
    # The verdict is against the stronger of seasonal naive and ETS.
    strongest = min(np.mean(errors) / scale, c["rows"]["baseline (ETS)"]["mase"])
    assert c["beats_baseline"] == (c["rows"]["fine-tuned"]["mase"] < strongest)
    # Stored in the metadata and shown in the model card.
    assert _saved_comparison(out) == c
    card = _card(out)
    assert CARD_TITLE in card and c["verdict"] in card
    assert "| baseline | " + f"{c['rows']['baseline']['mase']:.4g}" in card
    assert "seasonal naive (lag 12)" in card
    # A fine-tuned checkpoint is not in the registry: its card loads the folder.
    assert 'model_zoo.load("path/to/this/folder")' in card


def test_forecaster_season_test_size_and_opting_out(tiny_forecaster_dir):
    task = model_zoo.load(tiny_forecaster_dir)
    series = seasonal_series(150, season=6, seed=4)
    tuned = task.finetune(series, epochs=1, season=6, test_size=24, strategy="full")
    c = tuned.finetune_metrics["comparison"]
    assert c["models"]["baseline"] == "seasonal naive (lag 6)" and tuned.season == 6
    assert c["split"]["test"] == 24 and c["split"]["rule"] == "the last 24 values, by time"
    assert c["rows"]["fine-tuned"]["mase"] == pytest.approx(tuned.evaluate(series, 24)["mase"])
    assert tuned.finetune_metrics["season"] == {"value": 6, "from": "given"}
    # Without `season`, it is read from the training values (the model's is 12) ...
    untold = task.finetune(series, epochs=1, test_size=0, strategy="full")
    assert "comparison" not in untold.finetune_metrics
    assert untold.season == 6 and untold.finetune_metrics["season"]["from"].startswith(
        "detected from the 113 training values")
    # ... and a series without a season gets the naive forecast (lag 1) as its baseline.
    walk = 100 + np.cumsum(np.random.default_rng(0).normal(size=150))
    assert task.finetune(walk, epochs=1, test_size=0, strategy="full").season == 1
    # From random weights there is no zero-shot model: the row says why, not random numbers.
    scratch = model_zoo.finetune(task, series, epochs=1, init="random", test_size=24)
    c = scratch.finetune_metrics["comparison"]
    # (its season, 6, read from the values, is not the checkpoint's 12: a second baseline)
    assert set(c["rows"]) == {"fine-tuned", "baseline", "baseline (lag 12)", "baseline (ETS)"}
    assert c["skipped"] == {"zero-shot": "trained from random weights: no pretrained model to "
                                         "compare"}
    assert "trained from random weights" in c["models"]["fine-tuned"]
    for kwargs, message in (({"test_size": 3}, "at least one forecast"),
                            ({"season": 0}, "`season` must be a positive integer"),
                            ({"test_size": -2}, "`test_size` must be a positive integer")):
        with pytest.raises(InputError, match=message):
            task.finetune(series, epochs=1, **kwargs)


def test_cli_finetune_prints_the_table(tiny_forecaster_dir, tmp_path, capsys):
    from model_zoo.cli import main

    csv = tmp_path / "s.csv"
    csv.write_text("t,y\n" + "".join(f"{i},{v:.4f}\n" for i, v in enumerate(seasonal_series(120))))
    out = tmp_path / "cli"
    assert main(["finetune", tiny_forecaster_dir, "--csv", str(csv), "--column", "y",
                 "--out", str(out), "--epochs", "1", "--strategy", "full"]) == 0
    printed = capsys.readouterr().out
    lines = printed.splitlines()
    assert lines[0].startswith("fine-tuned checkpoint:")
    header = next(i for i, line in enumerate(lines) if line.startswith("model "))
    assert [lines[header + k].split()[0] for k in (1, 2, 3)] == ["fine-tuned", "zero-shot",
                                                                  "baseline"]
    assert "Held out: the last 24 values (about 20%, whole horizons), by time (train 72, " \
        "validation 24, test 24); mase decides, lower is better." in printed
    assert sum(verdict in printed for verdict in (
        "The fine-tuned model beats", "The classical baseline beats", "only ties")) == 1
    metrics = json.loads(printed[printed.index("\n{") + 1:])  # the JSON is still printed
    assert metrics["comparison"] == _saved_comparison(str(out))


# -- text classification ---------------------------------------------------------------------

GOOD = ["wonderful", "moving", "superb", "delightful", "funny", "touching"]
BAD = ["dull", "boring", "terrible", "slow", "predictable", "waste"]


def _reviews(n, seed):
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for k in range(n):
        words, label = (GOOD, "positive") if k % 2 else (BAD, "negative")
        texts.append("the film was " + " and ".join(rng.choice(words, 2)))
        labels.append(label)
    return texts, labels


@pytest.fixture(scope="module")
def text_classifier_dir(tmp_path_factory):
    import keras

    from model_zoo.models.text import WordPieceTokenizer, build_text_classifier
    from model_zoo.registry import CheckpointMetadata
    from model_zoo.tasks.text_classification import TextClassifier

    tokenizer = WordPieceTokenizer.learn(_reviews(40, 0)[0], vocabulary_size=80)
    keras.utils.set_random_seed(0)
    model = build_text_classifier(tokenizer.vocabulary_size, 2, embedding_dim=8, units=8)
    task = TextClassifier(model, {"tokenizer": tokenizer.get_config(),
                                  "labels": ["negative", "positive"], "max_length": 16},
                          tokenizer=tokenizer)
    directory = str(tmp_path_factory.mktemp("ckpt") / "sentiment_bigru_tiny")
    task.save(directory, CheckpointMetadata(name="sentiment_bigru_tiny", version=1,
                                            task="text_classification", description="tiny",
                                            architecture="bigru_classifier", recipe="sentiment"))
    return directory


def test_text_classifier_compares_with_tfidf_logistic_regression(text_classifier_dir, tmp_path):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    texts, labels = _reviews(40, 1)
    test_texts, test_labels = _reviews(20, 2)
    out = str(tmp_path / "mine")
    # The network alone (no n-gram blend, which would learn these words too): it loses.
    tuned = model_zoo.finetune(text_classifier_dir, (texts, labels), out=out, epochs=1,
                               batch_size=8, test=(test_texts, test_labels), strategy="full",
                               ngram_blend=False)
    c = tuned.finetune_metrics["comparison"]
    assert set(c["rows"]) == {"fine-tuned", "zero-shot", "baseline"} and c["metric"] == "accuracy"
    assert c["split"]["rule"] == "the given test data" and c["split"]["test"] == 20
    assert c["split"]["train"] + c["split"]["validation"] == 40
    assert c["rows"]["fine-tuned"] == tuned.evaluate(test_texts, test_labels)
    assert c["rows"]["zero-shot"] == model_zoo.load(text_classifier_dir).evaluate(test_texts,
                                                                                 test_labels)
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    lr = LogisticRegression(C=4.0, max_iter=1000).fit(vectorizer.fit_transform(texts), labels)
    predicted = lr.predict(vectorizer.transform(test_texts))
    assert c["rows"]["baseline"]["accuracy"] == pytest.approx(np.mean(predicted == test_labels))
    assert c["rows"]["baseline"]["accuracy"] == 1.0  # the words tell the classes apart
    assert set(c["rows"]["baseline"]) == set(c["rows"]["fine-tuned"])  # the same metrics
    assert not c["beats_baseline"] or c["rows"]["fine-tuned"]["accuracy"] > 1.0
    assert _saved_comparison(out) == c
    card = _card(out)
    assert CARD_TITLE in card and "The classical baseline beats this model on your data" in card
    assert "TF-IDF word 1-2 grams" in card


def test_text_classifier_holds_out_a_stratified_fifth(text_classifier_dir):
    texts, labels = _reviews(40, 3)
    labels = ["yes" if y == "positive" else "no" for y in labels]
    tuned = model_zoo.load(text_classifier_dir).finetune((texts, labels), epochs=1, batch_size=8,
                                                             strategy="full")
    c = tuned.finetune_metrics["comparison"]
    # 20% of each label (4 + 4) held out first, then 10% of the rest for early stopping.
    assert c["split"] == {"rule": "20% of each label, stratified (seed 0)", "train": 28,
                          "validation": 4, "test": 8, "unit": "texts"}
    assert tuned.finetune_metrics["train_texts"] == 28
    assert set(c["rows"]) == {"fine-tuned", "baseline"}
    assert "not the fine-tuned ['no', 'yes']" in c["skipped"]["zero-shot"]
    with pytest.raises(InputError, match=r"labels the training data lacks.*\['maybe'\]"):
        model_zoo.load(text_classifier_dir).finetune((texts, labels), test=(
            ["the film was fine", "the film was dull"], ["maybe", "no"]))


# -- series classification ------------------------------------------------------------------------


def _ramps(n_per_class, seed, classes=("up", "down")):
    rng = np.random.default_rng(seed)
    series, labels = [], []
    for label in classes:
        for _ in range(n_per_class):
            length = int(rng.integers(6, 12))
            ramp = np.linspace(-1, 1, length) * (1 if label in ("up", "a") else -1)
            s = np.stack([ramp, 2 * ramp], axis=1)
            series.append(s + rng.normal(0, 0.1, s.shape))
            labels.append(label)
    return series, labels


def test_series_classifier_compares_with_1nn_euclidean(tiny_classifier_dir, tmp_path):
    from model_zoo.data.labelled_series import SeriesCollection

    series, labels = _ramps(10, 0)
    out = str(tmp_path / "mine")
    tuned = model_zoo.finetune(tiny_classifier_dir, series, labels=labels, out=out, epochs=2,
                               strategy="full")
    c = tuned.finetune_metrics["comparison"]
    # 20% of each class held out; no early-stopping split on top of it (the training part keeps
    # the 80% it had before the comparison existed).
    assert c["split"] == {"rule": "20% of each class, stratified (seed 0)", "train": 16,
                          "validation": 0, "test": 4, "unit": "series"}
    assert set(c["rows"]) == {"fine-tuned", "baseline", "baseline (MiniRocket)"}
    assert "zero-shot" in c["skipped"]
    # The held-out 4, as the task's rule picks them.
    from model_zoo.data.labelled_series import stratified_split

    keep, held = stratified_split(np.array(labels), 0.2, 0)
    test = SeriesCollection([series[i] for i in held], np.array([labels[i] for i in held]),
                            list(held))
    assert c["rows"]["fine-tuned"] == tuned.evaluate(test)
    # 1-NN Euclidean by hand: scaled with the fine-tuned scaler, zero-padded, nearest wins.
    scaler = tuned.scaler
    length = max(len(series[i]) for i in keep)

    def features(s):
        x = np.zeros((length, 2))
        x[:min(len(s), length)] = ((s - scaler.mean) / scaler.std)[:length]
        return x.ravel()

    train_x = np.stack([features(series[i]) for i in keep])
    predicted = [labels[keep[np.argmin(((train_x - features(series[i])) ** 2).sum(1))]]
                 for i in held]
    expected = np.mean([p == labels[i] for p, i in zip(predicted, held)])
    assert c["rows"]["baseline"]["accuracy"] == pytest.approx(expected) == 1.0
    assert set(c["rows"]["baseline"]) == set(c["rows"]["fine-tuned"])
    # MiniRocket by aeon, on the same scaled series, zero-padded (to its kernel's 9 at least).
    from aeon.classification.convolution_based import MiniRocketClassifier

    width = max(length, 9)
    padded = [np.pad(features(s).reshape(length, 2), [(0, width - length), (0, 0)]).T
              for s in series]
    rocket = MiniRocketClassifier(random_state=0, n_jobs=1).fit(
        np.stack([padded[i] for i in keep]), np.array([labels[i] for i in keep]))
    predicted = rocket.predict(np.stack([padded[i] for i in held]))
    assert c["rows"]["baseline (MiniRocket)"]["accuracy"] == pytest.approx(
        np.mean([p == labels[i] for p, i in zip(predicted, held)]))
    assert "MiniRocket" in c["models"]["baseline (MiniRocket)"]
    assert _saved_comparison(out) == c
    card = _card(out)
    assert CARD_TITLE in card and "1-NN Euclidean" in card and c["verdict"] in card


def test_series_classifier_zero_shot_row_when_classes_match(tiny_classifier_dir):
    task = model_zoo.load(tiny_classifier_dir)
    series, labels = _ramps(5, 1, classes=("a", "b", "c"))
    test = _ramps(2, 2, classes=("a", "b", "c"))
    tuned = task.finetune(series, labels=labels, epochs=1, test=test, strategy="full")
    c = tuned.finetune_metrics["comparison"]
    assert set(c["rows"]) == {"fine-tuned", "zero-shot", "baseline", "baseline (MiniRocket)"}
    # 5 series of each class: 20% would hold out 1 per class, too few to stop training on
    # (fewer than MIN_VALIDATION_PER_CLASS): by default all 15 train, for every epoch.
    assert c["split"] == {"rule": "the given test series", "train": 15, "validation": 0,
                          "test": 6, "unit": "series"}
    assert c["rows"]["zero-shot"] == task.evaluate(test[0], labels=test[1])
    assert c["rows"]["fine-tuned"] == tuned.evaluate(test[0], labels=test[1])
    with pytest.raises(InputError, match=r"Labels \['z'\] are not among this model's classes"):
        task.finetune(series, labels=labels, test=(test[0][:2], ["a", "z"]))
    # 25 of each class: 20% holds out 5 per class, enough to stop on.
    series, labels = _ramps(25, 3, classes=("a", "b", "c"))
    split = task.finetune(series, labels=labels, epochs=1, test=test, strategy="full")
    assert split.finetune_metrics["comparison"]["split"]["validation"] == 15


# -- strategy="auto": chosen on the validation split, never on the test part ----------------------


def _assert_auto_chose_the_best(record, higher_is_better, candidates):
    """The record lists every candidate's validation score and the best one won (a tie goes
    to the earlier candidate)."""
    scores = record["candidates"]
    assert list(scores) == list(candidates)
    assert record["higher_is_better"] is higher_is_better
    assert all(isinstance(v, float) for v in scores.values())
    pick = max if higher_is_better else min
    best = pick(scores.values())
    assert record["chosen"] == next(name for name, v in scores.items() if v == best)
    assert set(record["seconds"]) == set(candidates)


def test_forecaster_auto_chooses_on_validation_not_on_the_test_part(tiny_forecaster_dir):
    task = model_zoo.load(tiny_forecaster_dir)
    series = seasonal_series(150, seed=3) * 3 + 500
    tuned = task.finetune(series, epochs=1, test_size=30)
    m = tuned.finetune_metrics
    record = m["strategy"]
    _assert_auto_chose_the_best(record, False, ("gradual_unfreezing", "full", "random",
                                                "zero_shot"))
    assert record["metric"] == "val_mae" and "30 values" in record["on"]
    # The scores are each candidate's validation MAE with its own anchor and alpha (the
    # forecast it would store); the winner's is the tuned model's, the lowest of its own
    # anchor and alpha table.
    blend = m["residual_weight"]
    assert record["candidates"][record["chosen"]] == pytest.approx(m["val_mae"])
    assert m["val_mae"] == min(min(s.values()) for s in blend["anchors"].values())
    assert m["val_mae"] == blend["val_mae"][str(tuned.residual_weight)]
    assert m["stages"] == {"gradual_unfreezing": 2, "full": 1, "random": 1,
                           "zero_shot": 0}[record["chosen"]]
    # Another test part (the last 30 values), the same training and validation values: the
    # same scores, the same choice, another comparison.
    other = series.copy()
    other[-30:] = other[-30:][::-1] + 40
    again = task.finetune(other, epochs=1, test_size=30)
    assert again.finetune_metrics["strategy"]["chosen"] == record["chosen"]
    assert again.finetune_metrics["strategy"]["candidates"] == pytest.approx(
        record["candidates"], rel=1e-4)
    assert again.finetune_metrics["comparison"]["rows"] != m["comparison"]["rows"]
    # The comparison table says which candidate the fine-tuned row is.
    assert "best on validation of strategy='auto'" in m["comparison"]["models"]["fine-tuned"]
    # An explicit strategy trains only that one, and is recorded as such.
    full = task.finetune(series, epochs=1, test_size=30, strategy="full")
    assert full.finetune_metrics["strategy"] == {"chosen": "full"}
    assert full.finetune_metrics["val_mae"] == pytest.approx(record["candidates"]["full"],
                                                             rel=1e-4)


def test_the_shared_auto_logic_on_rigged_scores(tiny_forecaster_dir):
    """`Task.finetune_with_strategy`, the one place auto is implemented, with a fake `fit` and
    rigged scores: what each candidate trains, the choice, ties, NaN, the refit, the fallback."""
    from model_zoo.training.auto_strategy import NoTraining

    task = model_zoo.load(tiny_forecaster_dir)
    calls = []

    class Tuned:
        def __init__(self, start, strategy):
            self.start, self.strategy = start, strategy
            self.finetune_metrics = {"from": "pretrained" if start is task else "random"}

    def fit(start, strategy):
        calls.append((start is task, strategy if isinstance(strategy, str)
                      else type(strategy).__name__))
        return Tuned(start, strategy)

    def rigged(values):
        return lambda t: values[("zero_shot" if isinstance(t.strategy, NoTraining) else
                                 "random" if t.start is not task else t.strategy)]

    for values, higher_is_better, chosen in (
            ({"gradual_unfreezing": 0.5, "full": 0.4, "random": 0.3, "zero_shot": 0.6},
             False, "random"),
            ({"gradual_unfreezing": 0.5, "full": 0.4, "random": 0.3, "zero_shot": 0.6},
             True, "zero_shot"),
            ({"gradual_unfreezing": 0.5, "full": 0.4, "random": 0.3, "zero_shot": 0.2},
             False, "zero_shot"),
            ({"gradual_unfreezing": 0.4, "full": 0.4, "random": 0.5, "zero_shot": 0.5},
             False, "gradual_unfreezing"),  # a tie goes to the earlier candidate
            ({"gradual_unfreezing": float("nan"), "full": 0.1, "random": 0.5,
              "zero_shot": 0.5}, False, "full")):  # NaN never wins
        calls.clear()
        tuned = task.finetune_with_strategy("auto", fit, rigged(values), metric="acc",
                                            higher_is_better=higher_is_better,
                                            on="the val part")
        record = tuned.finetune_metrics["strategy"]
        assert record["chosen"] == chosen, values
        assert tuned.finetune_metrics["from"] == ("random" if chosen == "random"
                                                  else "pretrained")
        assert calls == [(True, "gradual_unfreezing"), (True, "full"), (False, "RecipeSchedule"),
                         (True, "NoTraining")]
        assert record["candidates"] == {k: (None if v != v else v) for k, v in values.items()}
        assert record["metric"] == "acc" and record["on"] == "the val part"
    # With a refit, the winner is trained once more (a fifth training), from the same start.
    calls.clear()
    tuned = task.finetune_with_strategy(
        "auto", fit, rigged({"gradual_unfreezing": 1, "full": 0, "random": 3, "zero_shot": 2}),
        higher_is_better=False, refit=lambda start, s: Tuned(start, ("refit", s)))
    assert tuned.strategy == ("refit", "full") and tuned.start is task
    assert tuned.finetune_metrics["strategy"]["refit"] is True and len(calls) == 4
    # No validation split: the documented default, trained once, and why.
    calls.clear()
    tuned = task.finetune_with_strategy("auto", fit, None)
    assert calls == [(True, "gradual_unfreezing")]
    assert tuned.finetune_metrics["strategy"]["chosen"] == "gradual_unfreezing"
    assert "no validation split" in tuned.finetune_metrics["strategy"]["reason"]
    # An explicit strategy is passed through as it is.
    calls.clear()
    tuned = task.finetune_with_strategy("full", fit, rigged({}))
    assert calls == [(True, "full")] and tuned.finetune_metrics["strategy"] == {"chosen": "full"}
    # A model already from random weights has no "random" or "zero_shot" candidate.
    calls.clear()
    fresh = task.reinitialized(seed=1)
    fresh.finetune_with_strategy("auto", fit, lambda t: 0.0)
    assert [s for _, s in calls] == ["gradual_unfreezing", "full"]


def test_text_classifier_auto_chooses_on_validation_texts(text_classifier_dir):
    task = model_zoo.load(text_classifier_dir)
    texts, labels = _reviews(40, 5)
    validation = _reviews(12, 6)
    records = []
    for seed in (7, 8):  # two different test parts, the same training and validation texts
        test = _reviews(10, seed)
        tuned = task.finetune((texts, labels), epochs=1, batch_size=8, validation=validation,
                              test=test)
        records.append(tuned.finetune_metrics["strategy"])
        assert tuned.finetune_metrics["comparison"]["split"]["test"] == 10
    record = records[0]
    _assert_auto_chose_the_best(record, True, ("gradual_unfreezing", "full", "random"))
    assert record["metric"] == "val_accuracy"
    assert record["on"] == "the given validation texts: 12 texts"
    assert records[1]["chosen"] == record["chosen"]
    assert records[1]["candidates"] == pytest.approx(record["candidates"])
    # No validation texts at all: the documented default, and why.
    tuned = task.finetune((texts, labels), epochs=1, batch_size=8, val_fraction=0)
    record = tuned.finetune_metrics["strategy"]
    assert record["chosen"] == "gradual_unfreezing" and record["candidates"] == {}
    assert "no validation split" in record["reason"]


def test_series_classifier_auto_chooses_on_an_inner_split_then_refits(tiny_classifier_dir):
    task = model_zoo.load(tiny_classifier_dir)
    series, labels = _ramps(10, 0)
    tuned = task.finetune(series, labels=labels, epochs=1)
    m = tuned.finetune_metrics
    record = m["strategy"]
    _assert_auto_chose_the_best(record, True, ("gradual_unfreezing", "full", "random"))
    # 4 of 20 series held out for the comparison, none for early stopping; auto chose on 20%
    # of each class of the other 16 (3 series) and trained the winner again on all 16.
    assert m["train_series"] == 16 and m["val_series"] == 0 and record["refit"] is True
    assert record["on"].startswith("3 validation series (20% of each class of the training")
    assert m["comparison"]["split"]["test"] == 4
    # The same 16 training series with another test part: the same scores, the same choice.
    from model_zoo.data.labelled_series import stratified_split

    keep, _ = stratified_split(np.array(labels), 0.2, 0)
    test = _ramps(3, 9)
    again = task.finetune([series[i] for i in keep], labels=[labels[i] for i in keep],
                          epochs=1, test=test, val_fraction=0).finetune_metrics["strategy"]
    assert again["chosen"] == record["chosen"] and again["on"] == record["on"]
    assert again["candidates"] == pytest.approx(record["candidates"])
    # With a validation split, auto chooses on it and keeps the winner as trained.
    split = task.finetune(series, labels=labels, epochs=1, test=test, val_fraction=0.2)
    record = split.finetune_metrics["strategy"]
    _assert_auto_chose_the_best(record, True, ("gradual_unfreezing", "full", "random"))
    assert "refit" not in record and record["on"] == "4 validation series"
    assert split.finetune_metrics["val_accuracy"] == record["candidates"][record["chosen"]]
    # Too few series per class even for the inner split: the documented default.
    few = task.finetune(series[:2] + series[10:12], labels=labels[:2] + labels[10:12],
                        epochs=1, test_fraction=0, val_fraction=0)
    assert few.finetune_metrics["strategy"]["chosen"] == "gradual_unfreezing"
    assert "no validation split" in few.finetune_metrics["strategy"]["reason"]


# -- the command line: --test-size, --season, --test-fraction and --strategy auto ------------------


def test_cli_flags_reach_finetune(tiny_forecaster_dir, text_classifier_dir, tiny_classifier_dir,
                                  tmp_path, capsys):
    from model_zoo.cli import main

    csv = tmp_path / "s.csv"
    csv.write_text("t,y\n" + "".join(f"{i},{v:.4f}\n"
                                     for i, v in enumerate(seasonal_series(120, season=6))))
    out = tmp_path / "forecaster"
    assert main(["finetune", tiny_forecaster_dir, "--csv", str(csv), "--column", "y",
                 "--out", str(out), "--epochs", "1", "--test-size", "12", "--season", "6",
                 "--strategy", "auto"]) == 0
    printed = capsys.readouterr().out
    c = _saved_comparison(str(out))
    assert c["split"]["test"] == 12 and c["split"]["rule"] == "the last 12 values, by time"
    assert c["models"]["baseline"] == "seasonal naive (lag 6)"
    assert model_zoo.load(str(out)).season == 6
    with open(out / "metadata.json", encoding="utf-8") as f:
        strategy = json.load(f)["metrics"]["finetune"]["strategy"]
    assert set(strategy["candidates"]) == {"gradual_unfreezing", "full", "random", "zero_shot"}
    assert "best on validation of strategy='auto'" in printed

    texts, labels = _reviews(40, 4)
    text_csv = tmp_path / "reviews.csv"
    text_csv.write_text("text,label\n" + "".join(f"{t},{y}\n" for t, y in zip(texts, labels)))
    out = tmp_path / "text"
    assert main(["finetune", text_classifier_dir, "--csv", str(text_csv), "--out", str(out),
                 "--epochs", "1", "--strategy", "full", "--test-fraction", "0.25"]) == 0
    c = _saved_comparison(str(out))
    assert c["split"]["test"] == 10 and c["split"]["rule"].startswith("25% of each label")

    series, labels = _ramps(10, 1)
    rows = [f"{i},{t},{label},{s[t, 0]:.5f},{s[t, 1]:.5f}"
            for i, (s, label) in enumerate(zip(series, labels)) for t in range(len(s))]
    long_csv = tmp_path / "series.csv"
    long_csv.write_text("series_id,time,label,a,b\n" + "\n".join(rows) + "\n")
    out = tmp_path / "series"
    assert main(["finetune", tiny_classifier_dir, "--input", str(long_csv), "--time-column",
                 "time", "--out", str(out), "--epochs", "1", "--strategy", "full",
                 "--test-fraction", "0.3"]) == 0
    c = _saved_comparison(str(out))
    assert c["split"]["test"] == 6 and c["split"]["rule"].startswith("30% of each class")
    capsys.readouterr()
