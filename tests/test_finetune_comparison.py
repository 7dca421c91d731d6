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


# -- forecasting ------------------------------------------------------------------------------


def test_forecaster_finetune_compares_on_the_last_fifth(tiny_forecaster_dir, tmp_path):
    from model_zoo.tasks.forecasting import Forecaster

    series = seasonal_series(150, seed=3) * 3 + 500
    out = str(tmp_path / "mine")
    tuned = model_zoo.finetune(tiny_forecaster_dir, series, out=out, epochs=2,
                               strategy="full")
    c = tuned.finetune_metrics["comparison"]
    assert set(c["rows"]) == {"fine-tuned", "zero-shot", "baseline"} and not c["skipped"]
    assert c["metric"] == "mase" and c["higher_is_better"] is False
    assert c["split"] == {"rule": "the last 30 values (about 20%, whole horizons), by time",
                          "train": 108, "validation": 12, "test": 30, "unit": "values"}
    # The rows are the task's own evaluate on the same held-out values ...
    assert c["rows"]["fine-tuned"]["mase"] == pytest.approx(tuned.evaluate(series, 30)["mase"])
    parent = model_zoo.load(tiny_forecaster_dir)
    zero_shot = Forecaster(parent.model, {**parent.preprocessing,
                                          "scaler": tuned.preprocessing["scaler"]})
    assert c["rows"]["zero-shot"]["mase"] == pytest.approx(zero_shot.evaluate(series, 30)["mase"])
    assert tuned.scaler.mean == pytest.approx(np.mean(series[:108]))  # fitted on training only
    # ... and seasonal naive (lag 12), recomputed here by hand.
    errors = [np.abs(series[t:t + 6] - series[t - 12:t - 6]) for t in range(120, 145, 6)]
    scale = np.mean(np.abs(series[12:120] - series[:108]))
    assert c["rows"]["baseline"]["mase"] == pytest.approx(np.mean(errors) / scale)
    assert c["rows"]["baseline"]["origins"] == 5
    assert c["beats_baseline"] == (c["rows"]["fine-tuned"]["mase"] < np.mean(errors) / scale)
    # Stored in the metadata and shown in the model card.
    assert _saved_comparison(out) == c
    card = _card(out)
    assert CARD_TITLE in card and c["verdict"] in card
    assert "| baseline | " + f"{c['rows']['baseline']['mase']:.4g}" in card
    assert "seasonal naive (lag 12)" in card


def test_forecaster_season_test_size_and_opting_out(tiny_forecaster_dir):
    task = model_zoo.load(tiny_forecaster_dir)
    series = seasonal_series(150, season=6, seed=4)
    tuned = task.finetune(series, epochs=1, season=6, test_size=24, strategy="full")
    c = tuned.finetune_metrics["comparison"]
    assert c["models"]["baseline"] == "seasonal naive (lag 6)" and tuned.season == 6
    assert c["split"]["test"] == 24 and c["split"]["rule"] == "the last 24 values, by time"
    assert c["rows"]["fine-tuned"]["mase"] == pytest.approx(tuned.evaluate(series, 24)["mase"])
    assert "comparison" not in task.finetune(series, epochs=1, test_size=0,
                                             strategy="full").finetune_metrics
    # From random weights there is no zero-shot model: the row says why, not random numbers.
    scratch = model_zoo.finetune(task, series, epochs=1, init="random", test_size=24)
    c = scratch.finetune_metrics["comparison"]
    assert set(c["rows"]) == {"fine-tuned", "baseline"}
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
    assert "Held out: the last 24 values (about 20%, whole horizons), by time (train 87, " \
        "validation 9, test 24); mase decides, lower is better." in printed
    assert ("The fine-tuned model beats" in printed) != ("The classical baseline beats" in printed)
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
    tuned = model_zoo.finetune(text_classifier_dir, (texts, labels), out=out, epochs=1,
                               batch_size=8, test=(test_texts, test_labels), strategy="full")
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
    assert set(c["rows"]) == {"fine-tuned", "baseline"} and "zero-shot" in c["skipped"]
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
    assert _saved_comparison(out) == c
    card = _card(out)
    assert CARD_TITLE in card and "1-NN Euclidean" in card and c["verdict"] in card


def test_series_classifier_zero_shot_row_when_classes_match(tiny_classifier_dir):
    task = model_zoo.load(tiny_classifier_dir)
    series, labels = _ramps(5, 1, classes=("a", "b", "c"))
    test = _ramps(2, 2, classes=("a", "b", "c"))
    tuned = task.finetune(series, labels=labels, epochs=1, test=test, strategy="full")
    c = tuned.finetune_metrics["comparison"]
    assert set(c["rows"]) == {"fine-tuned", "zero-shot", "baseline"}
    assert c["split"] == {"rule": "the given test series", "train": 12, "validation": 3,
                          "test": 6, "unit": "series"}
    assert c["rows"]["zero-shot"] == task.evaluate(test[0], labels=test[1])
    assert c["rows"]["fine-tuned"] == tuned.evaluate(test[0], labels=test[1])
    with pytest.raises(InputError, match=r"Labels \['z'\] are not among this model's classes"):
        task.finetune(series, labels=labels, test=(test[0][:2], ["a", "z"]))
