"""Anomaly detection: window/point bookkeeping, metrics, the task, fine-tuning, the CLI, the
recipe and its data sources. Series are tiny and made by the tests."""

import json
import os

import numpy as np
import pytest

from model_zoo.errors import InputError

WINDOW = 16


def sine(n, period=16, seed=0, noise=0.02):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return 5.0 + np.sin(2 * np.pi * t / period) + rng.normal(0, noise, n)


@pytest.fixture(scope="module")
def tiny_detector_dir(tmp_path_factory):
    """A small, untrained autoencoder checkpoint with a 16-value window."""
    import keras

    from model_zoo.data.timeseries import StandardScaler
    from model_zoo.models.anomaly import build_lstm_autoencoder
    from model_zoo.registry import CheckpointMetadata
    from model_zoo.tasks.anomaly_detection import AnomalyDetector

    keras.utils.set_random_seed(0)
    model = build_lstm_autoencoder(window=WINDOW, units=8, latent=4)
    task = AnomalyDetector(model, {"window": WINDOW,
                                   "scaler": StandardScaler.fit(sine(200)).to_dict(),
                                   "threshold": 0.5, "threshold_quantile": 0.99})
    directory = tmp_path_factory.mktemp("ckpt") / "anomaly_lstmae_tiny"
    task.save(str(directory), CheckpointMetadata(
        name="anomaly_lstmae_tiny", version=1, task="anomaly_detection",
        architecture="lstm_autoencoder", description="tiny test model",
        recipe="anomaly_detection"))
    return str(directory)


# -- windows, points and metrics ----------------------------------------------------------------------


def test_series_windows_cover_every_stride_one_window():
    from model_zoo.data.anomaly_series import series_windows

    x = series_windows(np.arange(6.0), 3)
    assert x.shape == (4, 3, 1)
    np.testing.assert_array_equal(x[:, :, 0], [[0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5]])


def test_point_scores_average_over_covering_windows():
    from model_zoo.data.anomaly_series import point_scores

    # 3 windows of length 2 over 4 points: window k covers points k, k + 1.
    per_position = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    np.testing.assert_allclose(point_scores(per_position, 4), [1.0, 2.5, 4.5, 6.0])
    np.testing.assert_allclose(point_scores(np.array([1.0, 3.0, 5.0]), 4), [1, 2, 4, 5])


def test_downsampled_scoring_gives_one_score_per_original_point(tiny_detector_dir):
    import model_zoo
    from model_zoo.data.anomaly_series import downsample, upsample
    from model_zoo.tasks.anomaly_detection import AnomalyDetector

    np.testing.assert_allclose(downsample(np.arange(7.0), 3), [1.0, 4.0, 6.0])
    np.testing.assert_allclose(upsample([1.0, 2.0, 3.0], 3, 7), [1, 1, 1, 2, 2, 2, 3])
    task = model_zoo.load(tiny_detector_dir)
    coarse = AnomalyDetector(task.model, {**task.preprocessing, "downsample": 3})
    assert coarse.span == 3 * WINDOW
    scores = coarse.score(sine(200))
    assert scores.shape == (200,)
    np.testing.assert_array_equal(np.ptp(scores[:198].reshape(-1, 3), axis=1), 0.0)
    with pytest.raises(InputError, match="window of 48 values"):
        coarse.score(sine(40))


def test_anomaly_metrics_and_ucr_hit_on_a_hand_made_case():
    from model_zoo.metrics.anomaly import anomaly_metrics, threshold_from_scores, ucr_hit

    labels = np.array([0, 0, 1, 1, 0, 0, 0, 0])
    scores = np.array([0.1, 0.9, 0.8, 0.7, 0.2, 0.1, 0.3, 0.2])
    m = anomaly_metrics(labels, scores, threshold=0.5)
    assert m["flagged"] == 3 and m["anomalies"] == 2
    assert m["precision"] == pytest.approx(2 / 3) and m["recall"] == 1.0
    assert m["f1"] == pytest.approx(0.8)
    assert m["roc_auc"] == pytest.approx(10 / 12)  # one normal point outranks both anomalies
    assert anomaly_metrics(np.zeros(8), scores, 0.5)["roc_auc"] is None
    assert ucr_hit(labels, scores, margin=1) == 1.0 and ucr_hit(labels, scores, margin=0) == 0.0
    assert threshold_from_scores(np.arange(101.0), 0.99) == pytest.approx(99.0)


# -- the task -----------------------------------------------------------------------------------------


def test_score_returns_one_score_per_point(tiny_detector_dir, tmp_path):
    import model_zoo

    task = model_zoo.load(tiny_detector_dir)
    series = sine(100)
    scores = task.score(series)
    assert scores.shape == (100,) and np.all(scores >= 0)
    flags = task.detect(series)
    assert flags.dtype == bool and flags.shape == (100,)
    np.testing.assert_array_equal(flags, scores > task.threshold)
    path = tmp_path / "s.csv"
    path.write_text("v\n" + "\n".join(f"{v:.6f}" for v in series) + "\n")
    np.testing.assert_allclose(task.score(str(path), column="v"), scores, rtol=1e-4, atol=1e-6)
    output, shape = task.predict_example()
    assert output.shape == tuple(shape)


def test_score_rejects_bad_series(tiny_detector_dir):
    import model_zoo

    task = model_zoo.load(tiny_detector_dir)
    with pytest.raises(InputError, match="too short.*16.*Received: 10 values"):
        task.score(sine(10))
    gappy = sine(60)
    gappy[20] = np.nan
    with pytest.raises(InputError, match="missing values"):
        task.score(gappy)
    assert task.score(gappy, fill_missing="interpolate").shape == (60,)
    with pytest.raises(InputError, match="one-dimensional"):
        task.score(np.zeros((40, 2)))
    with pytest.raises(InputError, match="one 0/1 label per value"):
        task.evaluate(sine(40), np.zeros(39))


def test_finetune_on_normal_data_makes_an_injected_spike_the_top_score(tiny_detector_dir,
                                                                        tmp_path):
    import model_zoo

    task = model_zoo.load(tiny_detector_dir)
    before = [w.copy() for w in task.model.get_weights()]
    out = tmp_path / "mine"
    tuned = model_zoo.finetune(tiny_detector_dir, sine(400, seed=1), out=str(out),
                               name="anomaly_mine", epochs=6)
    metrics = tuned.finetune_metrics
    assert metrics["train_values"] == 320 and metrics["val_values"] == 80
    assert metrics["threshold"] == pytest.approx(tuned.threshold)
    for old, new in zip(before, task.model.get_weights()):  # the published model is untouched
        np.testing.assert_array_equal(old, new)
    test = sine(200, seed=2)
    test[120:123] += 4.0
    labels = np.zeros(200, dtype=int)
    labels[120:123] = 1
    reloaded = model_zoo.load(str(out))
    assert reloaded.threshold == pytest.approx(tuned.threshold)
    result = reloaded.evaluate(test, labels)
    assert result["ucr_hit"] == 1.0 and result["roc_auc"] > 0.9 and result["recall"] == 1.0
    with pytest.raises(InputError, match="too short"):
        task.finetune(sine(30))


# -- normalised scores and drift-robust thresholds (issue 18, item 2) ------------------------------


def test_series_and_local_normalisation_ignore_the_level_and_the_units(tiny_detector_dir):
    import model_zoo

    task = model_zoo.load(tiny_detector_dir)
    x = sine(300, seed=4)
    moved = 40.0 * x - 1234.0  # another level, other units
    for mode in ("series", "local"):
        np.testing.assert_allclose(task.score(moved, normalize=mode),
                                   task.score(x, normalize=mode), rtol=1e-5, atol=1e-7)
    # The stored scaler knows one level only: there the scores change (and blow up).
    assert task.score(moved, normalize="checkpoint").min() > 100 * task.score(x).max()
    # Robust: one extreme value barely moves the standardisation of the rest.
    spiked_x = x.copy()
    spiked_x[150] += 1e6
    np.testing.assert_allclose(task.score(spiked_x, normalize="series")[:100],
                               task.score(x, normalize="series")[:100], rtol=0.05, atol=1e-3)
    with pytest.raises(InputError, match=r"`normalize` must be one of.*Received: 'robust'"):
        task.score(x, normalize="robust")


def test_published_and_older_detectors_keep_their_stored_scaler_by_default(tiny_detector_dir):
    import model_zoo

    task = model_zoo.load(tiny_detector_dir)  # saved without a `normalize` entry
    assert task.normalize == "checkpoint" and task.level_window == 8 * WINDOW
    x = sine(120, seed=5)
    np.testing.assert_array_equal(task.score(x), task._scaled_scores(task.scaler.scale(x)))
    published = model_zoo.load("anomaly_lstmae_ucr135")
    assert published.normalize == "checkpoint"
    y = published.scaler.unscale(np.sin(np.arange(300) / 5.0))
    np.testing.assert_array_equal(published.score(y),
                                  published._scaled_scores(published.scaler.scale(y)))


def test_aggregation_spreads_each_window_mean_or_each_position(tiny_detector_dir):
    import model_zoo
    from model_zoo.data.anomaly_series import point_scores
    from model_zoo.training.recipe import get_recipe
    from model_zoo.tasks.anomaly_detection import AnomalyDetector

    task = model_zoo.load(tiny_detector_dir)  # saved without an `aggregation` entry
    assert task.aggregation == "position"
    x = sine(120, seed=3)
    scaled = task.scaler.scale(x)
    windows = task._windows(scaled)
    errors = (task._reconstruct(windows) - windows)[..., 0] ** 2
    np.testing.assert_allclose(task.score(x), point_scores(errors, x.size))
    whole = AnomalyDetector(task.model, {**task.preprocessing, "aggregation": "window"})
    np.testing.assert_allclose(whole.score(x), point_scores(errors.mean(axis=1), x.size))
    assert not np.allclose(whole.score(x), task.score(x))
    # Per call, either rule; the detector's own by default.
    np.testing.assert_allclose(task.score(x, aggregation="window"), whole.score(x))
    np.testing.assert_allclose(whole.score(x, aggregation="position"), task.score(x))
    assert (task.detect(x, aggregation="window", threshold=0.0) == (whole.score(x) > 0)).all()
    with pytest.raises(InputError, match=r"`aggregation` must be one of.*Received: 'max'"):
        task.score(x, aggregation="max")
    bad = AnomalyDetector(task.model, {**task.preprocessing, "aggregation": "max"})
    with pytest.raises(InputError, match=r"`aggregation` must be one of.*Received: 'max'"):
        bad.score(x)
    # New detectors score whole windows; the published ones record how they score.
    assert get_recipe("anomaly_detection").defaults["aggregation"] == "window"
    for name in ("anomaly_lstmae_mitdb", "anomaly_lstmae_ucr135"):
        assert model_zoo.load(name).aggregation == "window"
        assert model_zoo.load(f"{name}@1").aggregation == "position"
    # A fine-tune scores by position unless told otherwise, whatever its parent's rule.
    normal = sine(400, seed=4)
    tuned = whole.finetune(normal, epochs=1)
    assert tuned.aggregation == "position"
    assert whole.finetune(normal, epochs=1, aggregation="window").aggregation == "window"
    with pytest.raises(InputError, match=r"`aggregation` must be one of"):
        whole.finetune(normal, epochs=1, aggregation="mean")


def _drifted(n, seed, amount):
    """A normal sine series (no event) with a slow linear trend of `amount` added."""
    return sine(n, seed=seed) + np.linspace(0.0, amount, n)


def test_finetuned_threshold_holds_on_a_drifted_normal_series(tiny_detector_dir):
    import model_zoo

    task = model_zoo.load(tiny_detector_dir)
    normal = sine(400, seed=1)
    later = _drifted(800, seed=3, amount=3.0)  # 3 units = 4 stds of the normal series
    local = task.finetune(normal, epochs=6)
    assert local.normalize == "local"
    assert local.detect(later).mean() < 0.05
    # Before: the scaler (and threshold) of the adaptation data flag most of the drifted part.
    stored = task.finetune(normal, epochs=6, normalize="checkpoint")
    with pytest.warns(UserWarning, match="fine-tune"):
        assert stored.detect(later).mean() > 0.5
    # The drift barely changes the local scores of the same noise and shapes.
    flat = _drifted(800, seed=3, amount=0.0)
    np.testing.assert_allclose(local.score(later)[100:-100], local.score(flat)[100:-100],
                               rtol=0.25, atol=0.05)


def test_detect_warns_when_most_points_are_flagged(tiny_detector_dir):
    import warnings

    import model_zoo

    task = model_zoo.load(tiny_detector_dir)
    shifted = sine(100) + 50.0  # far from the stored scaler's level
    with pytest.warns(UserWarning, match=r"of 100 points .* score above the threshold.*"
                                         r"normalize=\"local\".*fine-tune"):
        assert task.detect(shifted).mean() > 0.5
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not task.detect(shifted, threshold=1e12).any()
        assert not task.detect(shifted, normalize="series", threshold=1e12).any()


# -- the comparison every fine-tune reports (issue 18, item 1) -------------------------------------


def spiked(n=200, seed=2, at=(120, 123)):
    """A sine with a labelled spike: `(values, labels)`."""
    values = sine(n, seed=seed)
    values[at[0]:at[1]] += 4.0
    labels = np.zeros(n, dtype=int)
    labels[at[0]:at[1]] = 1
    return values, labels


def _saved_finetune_metrics(directory):
    with open(os.path.join(directory, "metadata.json"), encoding="utf-8") as f:
        return json.load(f)["metrics"]["finetune"]


def test_finetune_compares_with_an_isolation_forest_on_labelled_data(tiny_detector_dir,
                                                                      tmp_path):
    import model_zoo
    from model_zoo.metrics.anomaly import anomaly_metrics, threshold_from_scores, ucr_hit
    from model_zoo.models.anomaly import baselines
    from model_zoo.tasks.anomaly_detection import AnomalyDetector

    normal = sine(300, seed=1)
    test, labels = spiked()
    out = str(tmp_path / "mine")
    tuned = model_zoo.finetune(tiny_detector_dir, normal, out=out, epochs=2, test=test,
                               test_labels=labels)
    m = tuned.finetune_metrics
    c = m["comparison"]
    assert "comparison_skipped" not in m
    assert c["metric"] == "roc_auc" and c["higher_is_better"] is True
    assert set(c["rows"]) == {"fine-tuned", "zero-shot", "baseline"} and not c["skipped"]
    assert c["split"] == {"rule": "the given labelled test series", "train": 240,
                          "validation": 60, "test": 200, "unit": "values"}
    assert m["train_values"] + m["val_values"] == normal.size  # the test series is apart
    assert c["rows"]["fine-tuned"] == tuned.evaluate(test, labels)
    # Zero-shot: the published network, its scaler refitted to the user's training part and
    # its threshold chosen again on the held-out part, as the fine-tune does.
    parent = model_zoo.load(tiny_detector_dir)
    assert tuned.normalize == "local" and m["normalize"] == "local"
    zero_shot = AnomalyDetector(parent.model, {**parent.preprocessing,
                                               "scaler": tuned.preprocessing["scaler"],
                                               "normalize": "local",
                                               "level_window": tuned.level_window})
    assert tuned.scaler.mean == pytest.approx(np.mean(normal[:240]))
    zero_shot.preprocessing["threshold"] = threshold_from_scores(
        zero_shot.score(normal)[240:], 0.99)
    assert c["rows"]["zero-shot"] == pytest.approx(zero_shot.evaluate(test, labels))
    # The baseline: the baselines module's forest on the training part's windows, the
    # series standardised as the fine-tuned detector standardises it.
    scaled = tuned._normalized(normal)
    forest = baselines.isolation_forest(tuned._windows(scaled[:240]))
    threshold = threshold_from_scores(
        baselines.forest_scores(forest, scaled, WINDOW)[240:], 0.99)
    scores = baselines.forest_scores(forest, tuned._normalized(test), WINDOW)
    expected = {**anomaly_metrics(labels, scores, threshold), "ucr_hit": ucr_hit(labels, scores)}
    assert c["rows"]["baseline"] == pytest.approx(expected)
    assert c["rows"]["baseline"]["roc_auc"] > 0.9  # the spike is plain to see
    assert set(c["rows"]["baseline"]) == set(c["rows"]["fine-tuned"])
    assert "refitted to your series" in c["models"]["zero-shot"]
    assert c["models"]["baseline"].startswith(baselines.DESCRIPTION)
    # Stored in the checkpoint's metadata and its model card.
    assert _saved_finetune_metrics(out)["comparison"] == c
    with open(os.path.join(out, "README.md"), encoding="utf-8") as f:
        assert c["verdict"] in f.read()


def test_finetune_without_labelled_test_data_says_why_there_is_no_comparison(
        tiny_detector_dir):
    import model_zoo

    tuned = model_zoo.load(tiny_detector_dir).finetune(sine(300, seed=1), epochs=1)
    assert "comparison" not in tuned.finetune_metrics
    assert "no labelled test series" in tuned.finetune_metrics["comparison_skipped"]


@pytest.mark.parametrize("kwargs, message", [
    ({"test_labels": np.zeros(200)}, "pass it as `test=`"),
    ({"test": sine(200)}, "needs its 0/1 labels"),
    ({"test": sine(200), "test_labels": np.zeros(199)},
     "one 0/1 label per value of the test series. Received: 199 labels for 200 values"),
    ({"test": sine(200), "test_labels": np.full(200, 2)}, r"0 \(normal\) or 1.*Received: 2"),
    ({"test": sine(200), "test_labels": np.zeros(200)},
     "at least one anomalous.*Received: 0 anomalous of 200 values"),
    ({"test": sine(10), "test_labels": [0] * 9 + [1]}, "too short"),
    ({"test": sine(200), "test_labels": "label"}, "names a column only when"),
])
def test_finetune_rejects_bad_test_data_before_training(tiny_detector_dir, kwargs, message):
    import model_zoo

    with pytest.raises(InputError, match=message):
        model_zoo.load(tiny_detector_dir).finetune(sine(300, seed=1), epochs=1, **kwargs)


def test_cli_finetune_with_a_labelled_test_csv(tiny_detector_dir, tmp_path, capsys):
    from model_zoo.cli import main

    train = tmp_path / "normal.csv"
    train.write_text("v\n" + "\n".join(f"{v:.6f}" for v in sine(300, seed=1)) + "\n")
    values, labels = spiked()
    test = tmp_path / "test.csv"
    test.write_text("value,anomaly\n" + "\n".join(f"{v:.6f},{y}" for v, y in
                                                  zip(values, labels)) + "\n")
    out = str(tmp_path / "cli")
    assert main(["finetune", tiny_detector_dir, "--csv", str(train), "--column", "v",
                 "--test-csv", str(test), "--test-column", "value", "--labels-column",
                 "anomaly", "--out", out, "--epochs", "1"]) == 0
    printed = capsys.readouterr().out
    lines = printed.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("model "))
    assert lines[header].split()[:2] == ["model", "roc_auc"]
    assert [lines[header + k].split()[0] for k in (1, 2, 3)] == ["fine-tuned", "zero-shot",
                                                                  "baseline"]
    saved = _saved_finetune_metrics(out)["comparison"]
    assert saved["split"]["test"] == 200 and saved["rows"]["fine-tuned"]["anomalies"] == 3
    assert main(["finetune", tiny_detector_dir, "--csv", str(train), "--column", "v",
                 "--test-csv", str(test), "--out", str(tmp_path / "x")]) == 2
    assert "--labels-column" in capsys.readouterr().err and not os.path.exists(tmp_path / "x")


# -- command line --------------------------------------------------------------------------------------


def test_cli_predict_scores_a_csv_column(tiny_detector_dir, tmp_path, capsys):
    import model_zoo
    from model_zoo.cli import main

    series = sine(64)
    path = tmp_path / "s.csv"
    path.write_text("t,v\n" + "\n".join(f"{i},{v:.6f}" for i, v in enumerate(series)) + "\n")
    with pytest.warns(UserWarning, match="64 of 64 points"):
        assert main(["predict", tiny_detector_dir, "--csv", str(path), "--column", "v",
                     "--threshold", "0"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["points"] == 64 and len(result["scores"]) == 64
    assert result["flagged"] == list(range(64))  # every score > 0
    assert result["normalize"] == "checkpoint"
    assert result["aggregation"] == "position"  # the detector's own
    # Each scoring option reaches `score` and is reported beside the scores.
    for option, value in (("normalize", "series"), ("aggregation", "window")):
        assert main(["predict", tiny_detector_dir, "--csv", str(path), "--column", "v",
                     f"--{option}", value, "--threshold", "1e9"]) == 0
        result = json.loads(capsys.readouterr().out)
        assert result[option] == value
        np.testing.assert_allclose(result["scores"], model_zoo.load(tiny_detector_dir).score(
            series, **{option: value}), rtol=1e-3, atol=1e-4)
    assert main(["predict", tiny_detector_dir, "--csv", str(path), "--column", "nope"]) == 2
    assert "Received:" in capsys.readouterr().err


# -- the recipe and its data ------------------------------------------------------------------------------


def test_data_sources_have_clean_training_parts_and_test_anomalies():
    from model_zoo.data.anomaly_series import load_labelled_series

    for name, train_end in (("mitdb", 3000), ("ucr135", 1200)):
        s = load_labelled_series(name)
        assert s.train_end == train_end and s.values.size == s.labels.size
        assert not s.labels[:train_end].any()
        assert s.segments(train_end), "the test part must hold an anomaly"
    with pytest.raises(InputError, match="Unknown anomaly series"):
        load_labelled_series("nope")


def test_default_search_space_and_cudnn_report():
    import keras_tuner

    from model_zoo.layers import cudnn_report
    from model_zoo.training.recipe import get_recipe

    hp = keras_tuner.HyperParameters()
    model = get_recipe("anomaly_detection").build_model(hp, {"dataset": "mitdb"})
    assert model.input_shape == (None, 80, 1) and model.output_shape == (None, 80, 1)
    assert hp.values["cell"] == "lstm" and hp.values["units"] == 64
    report = cudnn_report(model)
    assert len(report) == 2 and report.all_eligible  # no mask: cuDNN on every backend


def test_recipe_smoke_run_publishes_a_checkpoint_that_remeasures(tmp_path):
    from model_zoo.training.recipe import get_recipe
    from model_zoo.training.runner import evaluate_published, train

    recipe = get_recipe("anomaly_detection")
    result = train("anomaly_detection", dict(recipe.smoke), publish_to_registry=True,
                   registry_dir=str(tmp_path / "registry"), verbose=0)
    assert os.path.basename(result.published) == "anomaly_lstmae_ucr135"
    test = result.metrics["test"]
    assert set(test) >= {"precision", "recall", "f1", "roc_auc", "ucr_hit"}
    assert result.metrics["test_sample"]["limit"] == recipe.sample_size
    rows, ok = evaluate_published(result.published, limit=True)
    assert ok, rows
