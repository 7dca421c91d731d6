"""Series classification: reading .ts/long CSV files, masking, the task, fine-tuning, the CLI,
the recipe. Every data file is tiny and written by the test."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from model_zoo.errors import InputError

TS_HEADER = """# a tiny test file
@problemName Tiny
@timeStamps false
@missing false
@univariate false
@dimensions 2
@equalLength false
@classLabel true up down
@data
"""


def labelled_series(n_per_class=12, seed=0, classes=("up", "down"), channels=2):
    """Rising vs falling ramps (plus noise), lengths 6-14: easy to tell apart."""
    rng = np.random.default_rng(seed)
    series, labels = [], []
    for label in classes:
        for _ in range(n_per_class):
            length = int(rng.integers(6, 15))
            ramp = np.linspace(-1, 1, length) * (1 if label in ("up", "rise") else -1)
            s = np.stack([ramp * (c + 1) for c in range(channels)], axis=1)
            series.append(s + rng.normal(0, 0.1, s.shape))
            labels.append(label)
    return series, labels


def write_ts(path, series, labels):
    lines = [TS_HEADER.replace("up down", " ".join(sorted(set(labels)))).rstrip("\n")]
    for s, label in zip(series, labels):
        dims = ":".join(",".join(f"{v:.5f}" for v in s[:, c]) for c in range(s.shape[1]))
        lines.append(f"{dims}:{label}")
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def write_long_csv(path, series, labels, shuffle_rows=False):
    rows = ["series_id,time,label,a,b"]
    body = []
    for i, (s, label) in enumerate(zip(series, labels)):
        for t, (a, b) in enumerate(s):
            body.append(f"s{i},{t},{label},{a:.5f},{b:.5f}")
    if shuffle_rows:
        body = [body[i] for i in np.random.default_rng(0).permutation(len(body))]
    path.write_text("\n".join(rows + body) + "\n")
    return str(path)


# -- reading files -------------------------------------------------------------------------------


def test_read_ts_file_gives_time_by_channel_series(tmp_path):
    from model_zoo.data.labelled_series import read_ts_file

    series, labels = labelled_series(n_per_class=2)
    collection = read_ts_file(write_ts(tmp_path / "x.ts", series, labels))
    assert len(collection) == 4 and collection.channels == 2
    assert list(collection.labels) == labels
    for got, want in zip(collection.series, series):
        np.testing.assert_allclose(got, want, atol=1e-5)


def test_read_bad_ts_file_is_a_clear_error(tmp_path):
    from model_zoo.data.labelled_series import read_ts_file

    path = tmp_path / "bad.ts"
    path.write_text("@problemName X\n@data\n1,2,x:oops:up\n")
    with pytest.raises(InputError, match="Received:"):
        read_ts_file(str(path))
    with pytest.raises(InputError, match="No such .ts file"):
        read_ts_file(str(tmp_path / "missing.ts"))


def test_read_long_csv_groups_and_sorts_by_time(tmp_path):
    from model_zoo.data.labelled_series import read_long_csv

    series, labels = labelled_series(n_per_class=2)
    path = write_long_csv(tmp_path / "x.csv", series, labels, shuffle_rows=True)
    collection = read_long_csv(path, time_column="time")
    by_id = dict(zip(collection.ids, collection.series))
    for i, s in enumerate(series):
        np.testing.assert_allclose(by_id[f"s{i}"], s, atol=1e-5)
    assert dict(zip(collection.ids, collection.labels)) == {f"s{i}": lab
                                                            for i, lab in enumerate(labels)}


def test_read_long_csv_errors_name_the_problem(tmp_path):
    from model_zoo.data.labelled_series import read_collection, read_long_csv

    path = tmp_path / "x.csv"
    path.write_text("id,label,a\n1,u,0.5\n")
    with pytest.raises(InputError, match="series-id column 'series_id'.*Received"):
        read_long_csv(str(path))
    path.write_text("series_id,label,a\n1,u,0.5\n1,u,abc\n")
    with pytest.raises(InputError, match="line 3.*Received: 'abc'"):
        read_long_csv(str(path))
    path.write_text("series_id,label,a\n1,u,0.5\n1,v,0.7\n")
    with pytest.raises(InputError, match="more than one label"):
        read_long_csv(str(path))
    path.write_text("series_id,label,a\n1,u,0.5\n1,u,\n")
    with pytest.raises(InputError, match="missing values"):
        read_long_csv(str(path))
    with pytest.raises(InputError, match=r"\.ts file or a long-format \.csv"):
        read_collection(str(tmp_path / "x.parquet"))


def test_as_collection_checks_channels_values_and_labels():
    from model_zoo.data.labelled_series import as_collection

    with pytest.raises(InputError, match="channels-first.*Received: shape \\(2, 9\\)"):
        as_collection([np.zeros((2, 9))], channels=2)
    with pytest.raises(InputError, match="missing values"):
        as_collection([[1.0, np.nan, 2.0]])
    with pytest.raises(InputError, match="is empty"):
        as_collection([np.zeros((0, 2))])
    with pytest.raises(InputError, match="same number of channels"):
        as_collection([np.zeros((3, 2)), np.zeros((3, 1))])
    with pytest.raises(InputError, match="one label per series"):
        as_collection([np.zeros((3, 2))], labels=["a", "b"])


# -- the model -----------------------------------------------------------------------------------


def test_padding_is_masked_so_batches_do_not_change_answers(tiny_classifier_dir):
    import model_zoo

    task = model_zoo.load(tiny_classifier_dir)
    rng = np.random.default_rng(1)
    short, long = rng.normal(size=(5, 2)), rng.normal(size=(40, 2))
    alone = task.predict_proba(short)
    batched = task.predict_proba([short, long])
    np.testing.assert_allclose(batched[0], alone, atol=1e-5)
    assert not np.allclose(batched[1], alone, atol=1e-3)  # The long series is seen, not masked.


def test_default_search_space_builds_the_published_model_and_cudnn_report():
    import keras_tuner

    from model_zoo.layers import cudnn_report
    from model_zoo.training.recipe import get_recipe

    recipe = get_recipe("series_classification")
    hp = keras_tuner.HyperParameters()
    model = recipe.build_model(hp, {"dataset": "japanese_vowels"})
    assert model.input_shape == (None, None, 12) and model.output_shape == (None, 9)
    assert hp.values["cell"] == "gru" and hp.values["units"] == 64 and hp.values["depth"] == 2
    report = cudnn_report(model)
    assert len(report) == 4  # 2 bidirectional layers x (forward, backward)
    assert all(v.eligible("tensorflow") for v in report)
    assert all(not v.eligible("jax") and v.notes for v in report)  # masked: generic loop


# -- the task ---------------------------------------------------------------------------------------


def test_classify_accepts_one_series_a_list_an_array_and_files(tiny_classifier_dir, tmp_path):
    import model_zoo

    task = model_zoo.load(tiny_classifier_dir)
    series, labels = labelled_series(n_per_class=2)
    assert task.classify(series[0]) in task.classes
    assert task.classify([list(map(list, series[0]))] * 2)[0] in task.classes
    assert len(task.classify(series)) == 4
    assert len(task.classify(np.zeros((3, 6, 2)))) == 3
    assert len(task.classify(write_ts(tmp_path / "x.ts", series, labels))) == 4
    probs = task.predict_proba(series)
    assert probs.shape == (4, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    output, shape = task.predict_example()
    assert output.shape == tuple(shape)


def test_classify_rejects_bad_input(tiny_classifier_dir):
    import model_zoo

    task = model_zoo.load(tiny_classifier_dir)
    with pytest.raises(InputError, match="2 channel"):
        task.classify(np.zeros((10, 3)))
    with pytest.raises(InputError, match="empty list"):
        task.classify([])
    with pytest.raises(InputError, match="Received: dict"):
        task.classify({"a": 1})
    with pytest.raises(InputError, match="not among this model's classes"):
        task.evaluate([np.zeros((4, 2))], labels=["zzz"])


def test_finetune_new_class_set_from_long_csv(tiny_classifier_dir, tmp_path):
    import model_zoo

    task = model_zoo.load(tiny_classifier_dir)
    before = [w.copy() for w in task.model.get_weights()]
    series, labels = labelled_series(n_per_class=12, classes=("rise", "fall"))
    path = write_long_csv(tmp_path / "mine.csv", series, labels)
    out = tmp_path / "mine_ckpt"
    tuned = model_zoo.finetune(tiny_classifier_dir, path, out=str(out), name="classify_mine",
                               epochs=8, time_column="time")
    assert tuned.classes == ["fall", "rise"]
    assert tuned.model.output_shape == (None, 2)
    metrics = tuned.finetune_metrics
    # 20% of each class is held out for the comparison with 1-NN, the rest trains.
    assert metrics["new_head"] and metrics["train_series"] == 19 and metrics["val_series"] == 0
    assert metrics["comparison"]["split"]["test"] == 5
    assert metrics["comparison"]["rows"]["fine-tuned"]["accuracy"] >= 0.8
    for old, new in zip(before, task.model.get_weights()):  # the published model is untouched
        np.testing.assert_array_equal(old, new)
    reloaded = model_zoo.load(str(out))
    assert reloaded.classes == ["fall", "rise"] and reloaded.metadata.name == "classify_mine"
    assert reloaded.evaluate(path, time_column="time")["accuracy"] >= 0.8


def test_finetune_to_other_channels_gets_a_new_input_layer(tiny_classifier_dir, tmp_path):
    """The 2-channel checkpoint fine-tuned on 5-channel series: new input kernels in the first
    recurrent layer, its recurrent weights and the later layers from the checkpoint."""
    import model_zoo

    task = model_zoo.load(tiny_classifier_dir)
    series, labels = labelled_series(n_per_class=12, channels=5)
    out = str(tmp_path / "five")
    tuned = model_zoo.finetune(task, series, labels=labels, out=out, epochs=4,
                               strategy="gradual_unfreezing", test_fraction=0.25)
    m = tuned.finetune_metrics
    assert m["channels"] == {"model": 2, "data": 5, "new_input_layer": True}
    assert tuned.channels == 5 and tuned.model.input_shape == (None, None, 5)
    assert len(tuned.scaler.to_dict()["mean"]) == 5
    old = task.model.get_layer("encoder_bigru_0").get_weights()
    new = tuned.model.get_layer("encoder_bigru_0").get_weights()
    assert [w.shape for w in new] == [(5, 24), (8, 24), (2, 24)] * 2
    assert [o.shape == n.shape for o, n in zip(old, new)] == [False, True, True] * 2
    # The comparison has no zero-shot row (the checkpoint has other classes and channels).
    c = m["comparison"]
    assert set(c["rows"]) == {"fine-tuned", "baseline", "baseline (MiniRocket)"}
    assert "zero-shot" in c["skipped"] and "MiniRocket" in c["models"]["baseline (MiniRocket)"]
    reloaded = model_zoo.load(out)
    assert reloaded.classify(series[:3]) == tuned.classify(series[:3])
    with pytest.raises(InputError, match="5 channel"):
        reloaded.classify(np.zeros((10, 2)))
    # Test series must have the training series' channels.
    with pytest.raises(InputError, match="5 channel"):
        task.finetune(series, labels=labels, epochs=1,
                      test=([s[:, :2] for s in series[:4]], labels[:4]))


def test_neighbour_classifier_is_1nn_euclidean_when_sharp():
    """Its distances are the baseline's (scaled, zero-padded, cut to the stored length), so
    with a small scale its vote is scikit-learn's 1-NN, for shorter and longer series."""
    import keras
    from sklearn.neighbors import KNeighborsClassifier

    from model_zoo.data.labelled_series import PAD_VALUE
    from model_zoo.models.series_classification.neighbours import fit_neighbour_classifier

    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 20, 2)).astype("float32")
    x[:5, 15:] = PAD_VALUE  # five shorter series
    y = rng.integers(0, 3, 30)
    layer, record = fit_neighbour_classifier(x, y, 3)
    assert record["training_series"] == 30 and record["scale"] > 0
    layer.scale = 1e-3
    stored = np.where(x == PAD_VALUE, 0, x).reshape(30, -1)
    knn = KNeighborsClassifier(n_neighbors=1).fit(stored, y)
    for steps in (12, 20, 25):
        q = rng.normal(size=(10, steps, 2)).astype("float32")
        q[:2, steps - 3:] = PAD_VALUE
        padded = np.zeros((10, max(steps, 20), 2), "float32")
        padded[:, :steps] = np.where(q == PAD_VALUE, 0, q)
        flat = padded[:, :20].reshape(10, -1)
        expected = np.sqrt(((flat[:, None] - stored[None]) ** 2).sum(-1))
        np.testing.assert_allclose(keras.ops.convert_to_numpy(layer.distances(q)), expected,
                                   rtol=1e-5, atol=1e-4)
        probabilities = keras.ops.convert_to_numpy(layer(q))
        np.testing.assert_allclose(probabilities.sum(1), 1.0, atol=1e-5)
        assert (probabilities.argmax(1) == knn.predict(flat)).all()


def test_minirocket_layer_is_aeons_transform_and_ridge():
    """The layer's features are aeon's MiniRocket transform, feature by feature, on series it
    was not fitted on (uni- and multivariate, shorter and longer than the fitted length: cut
    or zero-padded as aeon's padded input), and its probabilities rank as the ridge
    classifier on them predicts."""
    import keras
    from aeon.transformations.collection.convolution_based import MiniRocket

    from model_zoo.data.labelled_series import PAD_VALUE
    from model_zoo.models.series_classification.minirocket import fit_minirocket_classifier

    rng = np.random.default_rng(0)
    for channels, length in ((1, 40), (3, 24)):
        x = rng.normal(size=(24, length, channels)).astype("float32")
        x[:4, length - 5:] = PAD_VALUE  # four shorter series, zero-padded for aeon
        y = np.arange(24) % 3
        layer, record = fit_minirocket_classifier(x, y, 3, seed=0)
        assert record["features"] == 9996 and record["training_series"] == 24
        rocket = MiniRocket(random_state=0, n_jobs=1).fit(
            np.where(x == PAD_VALUE, 0, x).transpose(0, 2, 1))
        for steps in (length - 7, length, length + 9):
            q = rng.normal(size=(6, steps, channels)).astype("float32")
            q[:2, steps - 3:] = PAD_VALUE
            padded = np.zeros((6, length, channels), "float32")
            padded[:, :min(steps, length)] = np.where(q == PAD_VALUE, 0, q)[:, :length]
            expected = rocket.transform(padded.transpose(0, 2, 1))
            features = keras.ops.convert_to_numpy(layer.features(q))
            np.testing.assert_allclose(features, expected, atol=1e-6)
            probabilities = keras.ops.convert_to_numpy(layer(q))
            np.testing.assert_allclose(probabilities.sum(1), 1.0, atol=1e-5)
            scores = (expected * keras.ops.convert_to_numpy(layer.feature_scale)) @ \
                keras.ops.convert_to_numpy(layer.coef) + keras.ops.convert_to_numpy(
                    layer.intercept)
            assert (probabilities.argmax(1) == scores.argmax(1)).all()
    # Series shorter than MiniRocket's kernel are zero-padded to it, as aeon asks.
    short, record = fit_minirocket_classifier(rng.normal(size=(10, 5, 1)).astype("float32"),
                                              np.arange(10) % 2, 2)
    assert record["length"] == 9 and keras.ops.convert_to_numpy(
        short(np.zeros((2, 5, 1), "float32"))).shape == (2, 2)


def test_finetune_blends_classical_models_into_the_network(tiny_classifier_dir, tmp_path):
    import model_zoo

    task = model_zoo.load(tiny_classifier_dir)
    series, labels = labelled_series(n_per_class=12)
    out = str(tmp_path / "blended")
    tuned = model_zoo.finetune(task, series, labels=labels, out=out, epochs=1,
                               strategy="full", test_fraction=0, val_fraction=0.25)
    record = tuned.finetune_metrics["classical_blend"]
    assert record["validation_examples"] == 6 and record["neighbours"]["training_series"] == 18
    assert record["minirocket"]["training_series"] == 18 and record["models"] == [
        "minirocket", "neighbours"]
    assert record["blend"] == "log-linear pool" and "1-NN Euclidean" in record["classical_model"]
    assert "MiniRocket" in record["classical_model"] and len(record["classical_exponent"]) == 2
    assert set(record["val_log_loss"]) == {"network", "minirocket", "neighbours", "blend"}
    assert {"minirocket_classifier", "neighbour_classifier", "classical_blend"} <= {
        layer.name for layer in tuned.model.layers}
    reloaded = model_zoo.load(out)
    np.testing.assert_allclose(reloaded.predict_proba(series[:5]), tuned.predict_proba(series[:5]),
                               atol=1e-6)
    # Without a validation split: the geometric mean, and the record says why.
    default = task.finetune(series, labels=labels, epochs=1, strategy="full", test_fraction=0,
                            val_fraction=0)
    record = default.finetune_metrics["classical_blend"]
    assert (record["network_exponent"], record["classical_exponent"]) == (1 / 3, [1 / 3, 1 / 3])
    assert "no validation" in record["rule"]
    # Auto without a validation split fits the pool on its choosing hold-out, with the chosen
    # candidate as it was before its refit on every series.
    auto = task.finetune(series, labels=labels, epochs=1, strategy="auto", test_fraction=0,
                         val_fraction=0)
    record = auto.finetune_metrics["classical_blend"]
    assert auto.finetune_metrics["strategy"]["refit"]
    assert record["validation_examples"] == 5 and "before its refit" in record["fitted_on"]
    # A fresh process loads the blended model (its layers registered by importing the task).
    default.save(str(tmp_path / "default"))
    script = ("import json, sys, numpy as np, model_zoo\n"
              f"task = model_zoo.load({str(tmp_path / 'default')!r})\n"
              "series = [np.asarray(s) for s in json.loads(sys.stdin.read())]\n"
              "print(json.dumps(task.predict_proba(series).tolist()))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=300, input=json.dumps([np.asarray(s).tolist()
                                                        for s in series[:5]]))
    assert out.returncode == 0, out.stderr[-2000:]
    np.testing.assert_allclose(json.loads(out.stdout.strip().splitlines()[-1]),
                               default.predict_proba(series[:5]), atol=1e-5)
    # Fine-tuned again (here: new classes), it starts from the network and blends anew.
    again = default.finetune(series, labels=["x" if lab == "up" else "y" for lab in labels],
                             epochs=1, strategy="full", test_fraction=0, val_fraction=0)
    names = [layer.name for layer in again.model.layers]
    assert names.count("neighbour_classifier") == 1 and again.classes == ["x", "y"]
    assert names.count("minirocket_classifier") == 1
    # One classical model: the two-model pool of the first blend; or none at all.
    one = task.finetune(series, labels=labels, epochs=1, strategy="full", test_fraction=0,
                        val_fraction=0.25, classical_blend="neighbours")
    record = one.finetune_metrics["classical_blend"]
    assert record["models"] == ["neighbours"] and isinstance(record["classical_exponent"], float)
    assert set(record["val_log_loss"]) == {"network", "classical", "blend"}
    assert "minirocket_classifier" not in [layer.name for layer in one.model.layers]
    alone = task.finetune(series, labels=labels, epochs=1, strategy="full", test_fraction=0,
                          classical_blend=None)
    assert "classical_blend" not in alone.finetune_metrics


def test_finetune_keeps_head_for_same_classes_and_needs_labels(tiny_classifier_dir):
    import model_zoo

    task = model_zoo.load(tiny_classifier_dir)
    series, _ = labelled_series(n_per_class=3)
    labels = ["a", "b", "c"] * 2
    tuned = task.finetune(series, labels=labels, epochs=1, val_fraction=0)
    assert not tuned.finetune_metrics["new_head"] and tuned.classes == ["a", "b", "c"]
    with pytest.raises(InputError, match="needs a label per series"):
        task.finetune(series)
    with pytest.raises(InputError, match="at least two classes"):
        task.finetune(series, labels=["a"] * len(series))


def test_zero_shot_row_needs_the_data_the_checkpoint_knows_not_just_its_label_names(
        tiny_classifier_dir):
    """UCR sets name their classes "1", "2", ...: GunPoint (150 steps) has ItalyPowerDemand's
    (24 steps) label strings, but the zero-shot row would mean nothing there."""
    import dataclasses

    import model_zoo
    from model_zoo.data.labelled_series import SeriesCollection
    from model_zoo.tasks.series_classification import SeriesClassifier

    task = model_zoo.load(tiny_classifier_dir)
    assert task.trained_lengths is None  # unrecorded: classes and channels decide
    # What the recipe records about its data: the lengths of the published split.
    task.metadata = dataclasses.replace(task.metadata, dataset={
        "name": "tiny", "split": {"channels": 2, "length": [6, 14]}})
    assert task.trained_lengths == (6, 14)
    rng = np.random.default_rng(0)

    def collection(lengths, labels):
        return SeriesCollection([rng.normal(size=(n, 2)) for n in lengths], np.array(labels))

    same = SeriesClassifier(task.model, task.preprocessing, task.metadata)
    assert task.zero_shot_mismatch(same, collection([5, 14, 17], ["a", "b", "c"])) is None
    assert task.zero_shot_mismatch(same, collection([6, 150], ["a", "b"])) == (
        "its classes have the same names, but it was trained on series of 6-14 steps and 1 of "
        "the 2 test series have 6-150 steps: another task")
    other_classes = SeriesClassifier(task.model, {**task.preprocessing, "classes": ["1", "2"]})
    assert "are not the fine-tuned ['1', '2']" in task.zero_shot_mismatch(
        other_classes, collection([8], ["1"]))
    wider = SeriesClassifier(task.model, {**task.preprocessing, "channels": 3})
    assert task.zero_shot_mismatch(wider, collection([8], ["a"])) == (
        "it reads 2 channel(s), the fine-tuned model 3")
    # End to end: the same label names on long series leave the zero-shot row out, and say why.
    series, labels = labelled_series(n_per_class=3, classes=("a", "b", "c"))
    long = [np.repeat(s, 10, axis=0) for s in series]  # 60-140 steps
    test = (long[::3], labels[::3])  # one of each class
    tuned = task.finetune(long, labels=labels, epochs=1, strategy="full", test=test)
    c = tuned.finetune_metrics["comparison"]
    assert set(c["rows"]) == {"fine-tuned", "baseline", "baseline (MiniRocket)"}
    assert "trained on series of 6-14 steps and 3 of the 3 test series" in \
        c["skipped"]["zero-shot"]
    # The fine-tuned model records what it was trained on, for the next fine-tune from it.
    lengths = [len(s) for s in long]
    assert tuned.preprocessing["lengths"] == [min(lengths), max(lengths)]
    assert tuned.trained_lengths == (min(lengths), max(lengths))
    again = tuned.finetune(long, labels=labels, epochs=1, strategy="full", test=test)
    assert "zero-shot" in again.finetune_metrics["comparison"]["rows"]


# -- command line --------------------------------------------------------------------------------------


def test_cli_predict_and_finetune(tiny_classifier_dir, tmp_path, capsys):
    from model_zoo.cli import main

    series, labels = labelled_series(n_per_class=3, classes=("a", "b"))
    ts = write_ts(tmp_path / "x.ts", series, labels)
    assert main(["predict", tiny_classifier_dir, "--input", ts]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["series"] == 6 and "accuracy" in result["metrics"]
    assert {row["label"] for row in result["predictions"]} <= {"a", "b", "c"}

    out = tmp_path / "tuned"
    assert main(["finetune", tiny_classifier_dir, "--input", ts, "--out", str(out),
                 "--epochs", "1"]) == 0
    assert os.path.isfile(out / "metadata.json")
    capsys.readouterr()
    assert main(["predict", tiny_classifier_dir, "--input", str(tmp_path / "none.csv")]) == 2
    assert "Received:" in capsys.readouterr().err


# -- the recipe ----------------------------------------------------------------------------------------


def test_recipe_smoke_run_publishes_a_checkpoint_that_remeasures(tmp_path):
    from model_zoo.training.recipe import get_recipe
    from model_zoo.training.runner import evaluate_published, train

    recipe = get_recipe("series_classification")
    result = train("series_classification", dict(recipe.smoke), publish_to_registry=True,
                   registry_dir=str(tmp_path / "registry"), verbose=0)
    assert os.path.basename(result.published) == "classify_bigru_italypowerdemand"
    assert 0.0 <= result.metrics["test"]["accuracy"] <= 1.0
    assert result.metrics["test_sample"]["limit"] == recipe.sample_size
    rows, ok = evaluate_published(result.published, limit=True)
    assert ok, rows
