"""The forecasting pipeline, task and fine-tuning: shapes, scaling, metrics, bad inputs."""

import json

import numpy as np
import pytest

import model_zoo
from model_zoo.data import timeseries as ts
from model_zoo.errors import InputError
from model_zoo.metrics.forecasting import forecast_metrics, mase, mase_scale, smape
from series_data import seasonal_series


def test_windows_never_cross_the_split():
    values = np.arange(30, dtype="float64")
    x, y, origins = ts.make_windows(values, lookback=5, horizon=3, start=10, stop=20)
    assert x.shape == (10, 5, 1) and y.shape == (10, 3)
    assert origins[0] == 10 and origins[-1] == 19
    np.testing.assert_array_equal(x[0, :, 0], [5, 6, 7, 8, 9])
    np.testing.assert_array_equal(y[0], [10, 11, 12])
    # Default stop: the last origin with a full target.
    _, y_all, o_all = ts.make_windows(values, 5, 3)
    assert o_all[-1] == 27 and y_all[-1, -1] == 29
    ds = ts.windows_dataset(values, 5, 3, batch_size=4, start=10, stop=20)
    xb, yb = next(iter(ds))
    assert xb.shape == (4, 5, 1) and yb.shape == (4, 3)


def test_rolling_origins_tile_the_test_period():
    assert ts.rolling_origins(100, 24, 12) == [76, 88]
    assert ts.rolling_origins(100, 25, 12) == [75, 87]


def test_scaler_round_trip_and_log():
    values = np.array([1.0, 2.0, 4.0, 8.0])
    for transform in ("none", "log"):
        scaler = ts.StandardScaler.fit(values, transform)
        np.testing.assert_allclose(scaler.unscale(scaler.scale(values)), values)
        again = ts.StandardScaler.from_dict(scaler.to_dict())
        np.testing.assert_allclose(again.scale(values), scaler.scale(values))
    with pytest.raises(InputError, match="must be positive"):
        ts.StandardScaler.fit(np.array([1.0, 0.0]), "log")


def test_metrics_on_known_values():
    train = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    assert mase_scale(train, 1) == pytest.approx(1.0)
    assert mase_scale(train, 2) == pytest.approx(2.0)
    assert mase([1, 2], [2, 4], scale=1.5) == pytest.approx(1.0)
    assert smape([100.0], [110.0]) == pytest.approx(200 * 10 / 210)
    assert smape([0.0], [0.0]) == 0.0
    m = forecast_metrics(np.array([[1.0, 2.0]]), np.array([[1.0, 4.0]]), 1.0)
    assert m["rmse"] == pytest.approx(np.sqrt(2.0)) and m["mase"] == pytest.approx(1.0)


@pytest.mark.parametrize("season", [1, 2, 4, 7, 12, 24, 52])
def test_metrics_match_sktime(season):
    """The hand-written MASE / sMAPE agree with sktime's to every digit (see the module doc)."""
    metrics = pytest.importorskip("sktime.performance_metrics.forecasting")
    rng = np.random.default_rng(season)
    steps = np.arange(3 * season + 60)
    train = rng.normal(10, 2, steps.size) + np.sin(steps * 2 * np.pi / season)
    truth = rng.normal(10, 2, season + 5)
    pred = truth + rng.normal(0, 1, truth.size)
    assert mase(truth, pred, mase_scale(train, season)) == pytest.approx(
        metrics.mean_absolute_scaled_error(truth, pred, y_train=train, sp=season), rel=1e-12)
    assert smape(truth, pred) == pytest.approx(
        100 * metrics.mean_absolute_percentage_error(truth, pred, symmetric=True), rel=1e-12)


def test_csv_errors_name_the_problem(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("date,y\n2000-01,1\n2000-02,x\n")
    with pytest.raises(InputError, match="line 3 holds 'x'"):
        ts.read_series_csv(str(path), "y")
    with pytest.raises(InputError, match=r"Column 'value' is not in .*\['date', 'y'\]"):
        ts.read_series_csv(str(path), "value")
    path.write_text("y\n1\n\n3\nNaN\n5\n")
    with pytest.raises(InputError, match="2 missing values .* positions 1, 3"):
        ts.read_series_csv(str(path), "y")
    np.testing.assert_allclose(ts.read_series_csv(str(path), "y", fill_missing="interpolate"),
                               [1, 2, 3, 4, 5])
    with pytest.raises(InputError, match="No such CSV file"):
        ts.read_series_csv(str(tmp_path / "absent.csv"), "y")
    path.write_bytes(b"y\n\xff\xfe1\n")
    with pytest.raises(InputError, match="Could not read"):
        ts.read_series_csv(str(path), "y")


def test_as_series_rejects_bad_shapes():
    with pytest.raises(InputError, match="one-dimensional"):
        ts.as_series(np.zeros((3, 2)))
    with pytest.raises(InputError, match="must be numbers"):
        ts.as_series(["a", "b"])
    with pytest.raises(InputError, match="infinite value at position 1"):
        ts.as_series([1.0, np.inf])
    with pytest.raises(InputError, match="needs `column=`"):
        ts.as_series("file.csv")


def test_forecast_shapes_and_recursion(tiny_forecaster_dir):
    task = model_zoo.load(tiny_forecaster_dir)
    series = seasonal_series(60)
    assert task.forecast(series).shape == (6,)
    long = task.forecast(series, horizon=15)
    assert long.shape == (15,)
    # The first block of a recursive forecast is the direct forecast.
    np.testing.assert_allclose(long[:6], task.forecast(series), rtol=1e-6)
    # The forecast only reads the last `lookback` values.
    np.testing.assert_allclose(task.forecast(np.r_[np.zeros(10), series]), task.forecast(series),
                               rtol=1e-6)
    out, shape = task.predict_example()
    assert out.shape == shape


def test_forecast_bad_inputs(tiny_forecaster_dir):
    task = model_zoo.load(tiny_forecaster_dir)
    with pytest.raises(InputError, match="too short .* at least 24 values. Received: 10"):
        task.forecast(np.ones(10))
    with pytest.raises(InputError, match="horizon"):
        task.forecast(seasonal_series(30), horizon=0)
    with pytest.raises(InputError, match="missing values"):
        task.forecast(np.r_[seasonal_series(30), np.nan])
    assert task.forecast(np.r_[seasonal_series(30), np.nan, 1.0],
                         fill_missing="interpolate").shape == (6,)


def test_evaluate_matches_hand_computation(tiny_forecaster_dir):
    task = model_zoo.load(tiny_forecaster_dir)
    series = seasonal_series(96)
    assert sorted(task.evaluate(series, test_size=12)) == ["mase", "n_origins", "rmse", "smape"]
    result = task.evaluate(series, test_size=12, return_forecasts=True)
    assert result["origins"] == [84, 90] and result["n_origins"] == 2
    assert np.shape(result["forecasts"]) == np.shape(result["truth"]) == (2, 6)
    preds = np.concatenate([task.forecast(series[:84]), task.forecast(series[:90])])
    truth = series[84:]
    expected = np.mean(np.abs(truth - preds)) / mase_scale(series[:84], 12)
    assert result["mase"] == pytest.approx(expected, rel=1e-6)
    with pytest.raises(InputError, match="too short to evaluate"):
        task.evaluate(series[:30], test_size=12)


def test_finetune_improves_and_saves(tiny_forecaster_dir, tmp_path):
    series = seasonal_series(200, seed=3) * 3 + 500  # Another level and scale.
    out = tmp_path / "mine"
    tuned = model_zoo.finetune(tiny_forecaster_dir, series, out=str(out), epochs=6,
                               name="forecast_lstm_mine")
    m = tuned.finetune_metrics
    assert m["val_mae_scaled_after"] < m["val_mae_scaled_before"]
    reloaded = model_zoo.load(str(out))
    assert reloaded.metadata.name == "forecast_lstm_mine"
    assert "parent:forecast_lstm_tiny@1" in reloaded.metadata.tags
    np.testing.assert_allclose(reloaded.forecast(series), tuned.forecast(series), rtol=1e-5)
    # Fitted on the training values only: not the last 42 (about 20%, in whole horizons, held
    # out for the comparison with seasonal naive), nor the 39 validation values (25% of the
    # rest) before them.
    assert m["comparison"]["split"]["test"] == 42 and m["val_values"] == 39
    assert reloaded.scaler.mean == pytest.approx(np.mean(series[:119]), rel=1e-6)
    # The original checkpoint is untouched.
    original = model_zoo.load(tiny_forecaster_dir)
    assert not np.allclose(original.forecast(series), tuned.forecast(series))


def test_from_scratch_trains_the_same_architecture_from_fresh_weights(tiny_forecaster_dir,
                                                                      tmp_path):
    parent = model_zoo.load(tiny_forecaster_dir)
    fresh = parent.reinitialized(seed=1)
    assert [w.shape for w in fresh.model.weights] == [w.shape for w in parent.model.weights]
    changed = {w.path for w, a, b in zip(parent.model.weights, parent.model.get_weights(),
                                         fresh.model.get_weights()) if not np.allclose(a, b)}
    kernels = {w.path for w in parent.model.weights if w.path.endswith("kernel")}
    assert kernels and kernels <= changed  # every drawn weight drawn again
    assert fresh.preprocessing == parent.preprocessing and fresh.model is not parent.model

    series = seasonal_series(120, seed=3)
    out = tmp_path / "scratch"
    tuned = model_zoo.finetune(parent, series, out=str(out), epochs=2, init="random",
                               name="forecast_lstm_scratch")
    assert tuned.finetune_metrics["init"] == "random"
    assert tuned.finetune_metrics["stages"] == 1  # strategy "full": every layer at once
    reloaded = model_zoo.load(str(out))
    assert reloaded.metadata.metrics["finetune"]["init"] == "random"
    assert "init:random" in reloaded.metadata.tags
    assert "init='random'" in reloaded.metadata.command
    np.testing.assert_allclose(reloaded.forecast(series), tuned.forecast(series), rtol=1e-5)
    # The parent is untouched.
    assert all(np.array_equal(a, b) for a, b in zip(
        parent.model.get_weights(), model_zoo.load(tiny_forecaster_dir).model.get_weights()))
    with pytest.raises(InputError, match="trains every layer"):
        model_zoo.finetune(parent, series, init="random", strategy="gradual_unfreezing")
    # From random weights `auto` (the default) is the one thing it can be: the recipe's
    # schedule (its learning rate, warm-up and cosine decay), read from the metadata.
    again = model_zoo.finetune(parent, series, epochs=2, init="random", strategy="auto")
    assert again.finetune_metrics["strategy"]["chosen"] == "RecipeSchedule"
    np.testing.assert_array_equal(again.forecast(series), tuned.forecast(series))


def test_finetune_bad_inputs_leave_nothing(tiny_forecaster_dir, tmp_path):
    out = tmp_path / "never"
    with pytest.raises(InputError, match="too short for fine-tuning"):
        model_zoo.finetune(tiny_forecaster_dir, seasonal_series(30), out=str(out))
    assert not out.exists()
    csv = tmp_path / "d.csv"
    csv.write_text("t,y\n" + "".join(f"{i},{v}\n" for i, v in enumerate(seasonal_series(80))))
    with pytest.raises(InputError, match="Column 'value'"):
        model_zoo.finetune(tiny_forecaster_dir, str(csv), column="value", out=str(out))
    with pytest.raises(InputError, match="Unknown fine-tuning strategy"):
        model_zoo.finetune(tiny_forecaster_dir, str(csv), column="y", strategy="magic")
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".never")]
    out.mkdir()
    with pytest.raises(InputError, match="exists"):
        model_zoo.finetune(tiny_forecaster_dir, str(csv), column="y", out=str(out))


# -- the residual weight alpha: naive + alpha * (network - naive) (issue 18) ----------------------


def _with_weight(task, weight):
    from model_zoo.tasks.forecasting import Forecaster

    return Forecaster(task.model, {**task.preprocessing, "residual_weight": weight})


def test_old_checkpoints_forecast_as_before(tiny_forecaster_dir):
    """A checkpoint without `residual_weight` (all published ones) is the network's own
    forecast: unscale(network(scaled window)), to the last bit, also with alpha 1 given."""
    task = model_zoo.load(tiny_forecaster_dir)
    assert "residual_weight" not in task.preprocessing and task.residual_weight == 1.0
    series = seasonal_series(60)
    scaler = task.scaler
    window = scaler.scale(series[-24:])[None, :, None]
    by_hand = scaler.unscale(task._predict_scaled(window))[0]
    np.testing.assert_array_equal(task.forecast(series), by_hand)
    np.testing.assert_array_equal(_with_weight(task, 1.0).forecast(series, 15),
                                  task.forecast(series, 15))


def test_alpha_zero_is_seasonal_naive_exactly_and_alpha_blends(tiny_forecaster_dir):
    from model_zoo.models.forecasting.baselines import seasonal_naive

    task = model_zoo.load(tiny_forecaster_dir)
    series = seasonal_series(96, seed=2) * 3 + 500
    naive = _with_weight(task, 0.0)
    for horizon in (6, 15):  # direct and recursive
        np.testing.assert_array_equal(naive.forecast(series, horizon),
                                      seasonal_naive(series, horizon, 12))
    # Its evaluate is seasonal naive's MASE, by hand.
    errors = np.abs(series[84:] - np.r_[series[72:78], series[78:84]])
    assert naive.evaluate(series, 12)["mase"] == pytest.approx(
        np.mean(errors) / mase_scale(series[:84], 12), rel=1e-12)
    # Between: the first block is naive + alpha * (network - naive), in the series' units.
    network = task.forecast(series)
    half = _with_weight(task, 0.5)
    np.testing.assert_allclose(half.forecast(series),
                               seasonal_naive(series, 6, 12) + 0.5 * (network -
                                                                      seasonal_naive(series, 6,
                                                                                     12)),
                               rtol=1e-12)
    # Recursively, each later block reads the blended values before it.
    long = half.forecast(series, 12)
    np.testing.assert_allclose(long[:6], half.forecast(series), rtol=1e-12)
    np.testing.assert_allclose(long[6:], half.forecast(np.r_[series, long[:6]]), rtol=1e-9)


def test_an_ets_anchor_blends_as_seasonal_naive_does_and_is_not_exported(tiny_forecaster_dir):
    """With an ETS anchor (fitted by `fit_ets`, stored as JSON), alpha 0 is ETS re-filtered
    over the history, alpha 0.5 the midpoint of ETS and the network, and a later block reads
    the blended values before it; the fixed-window graph export refuses it."""
    from model_zoo.export import serving_graph
    from model_zoo.models.forecasting.baselines import ets_forecast, fit_ets
    from model_zoo.tasks.forecasting import Forecaster

    task = model_zoo.load(tiny_forecaster_dir)
    series = seasonal_series(96, seed=2) * 3 + 500
    fitted = json.loads(json.dumps(fit_ets(series[:80], 12)))
    anchored = {**task.preprocessing, "anchor": {"kind": "ets", **fitted}}
    ets = Forecaster(task.model, {**anchored, "residual_weight": 0.0})
    assert ets.anchor_name == fitted["label"] and fitted["label"].startswith("ETS(")
    np.testing.assert_allclose(ets.forecast(series, 15), ets_forecast(fitted, series, 15),
                               rtol=1e-9)
    half = Forecaster(task.model, {**anchored, "residual_weight": 0.5})
    first = ets_forecast(fitted, series, 6)
    np.testing.assert_allclose(half.forecast(series),
                               first + 0.5 * (task.forecast(series) - first), rtol=1e-9)
    long = half.forecast(series, 12)
    np.testing.assert_allclose(long[6:], half.forecast(np.r_[series, long[:6]]), rtol=1e-9)
    # alpha 1 is the network alone: the anchor is not read.
    np.testing.assert_array_equal(Forecaster(task.model, {**anchored, "residual_weight": 1.0})
                                  .forecast(series, 15), task.forecast(series, 15))
    with pytest.raises(InputError, match="ETS"):
        serving_graph(half)


def test_alpha_is_chosen_on_validation_only_and_survives_save_load(tiny_forecaster_dir,
                                                                   tmp_path):
    from model_zoo.models.forecasting.baselines import ets_forecaster, fit_ets, seasonal_naive

    series = seasonal_series(150, seed=3) * 3 + 500
    out = str(tmp_path / "mine")
    tuned = model_zoo.finetune(tiny_forecaster_dir, series, out=out, epochs=1, test_size=30,
                               strategy="full")
    record = tuned.finetune_metrics["residual_weight"]
    # Two anchors, seasonal naive and ETS fitted on the 90 training values, each with every
    # alpha; the chosen pair has the lowest validation MAE of all ten.
    ets, label = ets_forecaster(series[:90], 12)
    anchors = record["anchors"]
    assert list(anchors) == ["seasonal naive (lag 12)", label]
    for scores in anchors.values():
        assert set(scores) == {"0.0", "0.25", "0.5", "0.75", "1.0"}
    alpha, best = record["chosen"], min(
        (mae, float(alpha), name) for name, scores in anchors.items()
        for alpha, mae in scores.items())
    assert (alpha, record["anchor"]) == best[1:] and record["val_mae"] == anchors[best[2]]
    assert tuned.residual_weight == alpha
    # Here ETS wins validation; the anchor kept is then refitted on all 120 values before the
    # test part, as the comparison's ETS baseline is.
    assert record["anchor"] == label and alpha < 1
    assert tuned.anchor == json.loads(json.dumps({"kind": "ets", **fit_ets(series[:120], 12)}))
    assert record["anchor_refitted"].endswith("on all 120 values before the test part")
    # The scores are the MAE of every validation origin's forecast: for alpha 0 the anchor's,
    # by hand (the 30 validation values are [90, 120); the test part starts at 120).
    assert tuned.finetune_metrics["val_values"] == 30
    origins = range(90, 115)
    for name, anchor in (("seasonal naive (lag 12)", lambda h: seasonal_naive(h, 6, 12)),
                         (label, lambda h: ets(h, 6))):
        errors = [np.abs(series[t:t + 6] - anchor(series[:t])) for t in origins]
        assert anchors[name]["0.0"] == pytest.approx(np.mean(errors), rel=1e-9)
    # ... and for alpha 1 the network's own, whatever the anchor.
    network = _with_weight(tuned, 1.0)
    errors = [np.abs(series[t:t + 6] - network.forecast(series[:t])) for t in origins]
    for scores in anchors.values():
        assert scores["1.0"] == pytest.approx(np.mean(errors), rel=1e-6)
    scores = record["val_mae"]
    # The comparison's fine-tuned row uses alpha.
    comparison = tuned.finetune_metrics["comparison"]
    assert comparison["rows"]["fine-tuned"]["mase"] == pytest.approx(
        tuned.evaluate(series, 30)["mase"])
    # Saved in the preprocessing: reloaded, the same alpha and the same forecasts.
    reloaded = model_zoo.load(out)
    assert reloaded.preprocessing["residual_weight"] == alpha
    assert reloaded.anchor == tuned.anchor
    np.testing.assert_allclose(reloaded.forecast(series, 15), tuned.forecast(series, 15),
                               rtol=1e-6)
    # Another test part, the same training and validation values: the same alpha and scores.
    other = series.copy()
    other[-30:] = other[-30:][::-1] * 2 + 40
    again = model_zoo.finetune(tiny_forecaster_dir, other, epochs=1, test_size=30,
                               strategy="full").finetune_metrics
    assert again["residual_weight"]["chosen"] == alpha
    assert again["residual_weight"]["val_mae"] == pytest.approx(scores, rel=1e-5)
    assert again["comparison"]["rows"] != comparison["rows"]


def test_where_seasonal_naive_is_perfect_alpha_is_zero(tiny_forecaster_dir):
    """A purely periodic series: seasonal naive has no error on validation, the network does,
    so alpha = 0 and the fine-tuned model is seasonal naive, to the last bit, on the test part
    too (the fine-tuned row of the comparison is the baseline's)."""
    task = model_zoo.load(tiny_forecaster_dir)
    t = np.arange(150)
    series = 50 + 10 * np.sin(2 * np.pi * t / 12) + 3 * np.cos(2 * np.pi * t / 4)
    tuned = task.finetune(series, epochs=1, test_size=30, strategy="full")
    record = tuned.finetune_metrics["residual_weight"]
    assert record["chosen"] == 0.0 and record["val_mae"]["0.0"] < 1e-9
    assert record["val_mae"]["1.0"] > 1e-3
    rows = tuned.finetune_metrics["comparison"]["rows"]
    assert rows["fine-tuned"]["mase"] == rows["baseline"]["mase"]
    # The zero-shot row is the parent's own forecast (alpha 1), not shrunk with the new alpha.
    assert rows["zero-shot"]["mase"] > rows["baseline"]["mase"]
    # A fine-tune of that fine-tuned model starts from its alpha only as a parent: alpha is
    # chosen again, and the zero-shot row uses the parent's alpha 0.
    twice = tuned.finetune(series, epochs=1, test_size=30, strategy="full")
    assert twice.finetune_metrics["comparison"]["rows"]["zero-shot"]["mase"] == \
        rows["baseline"]["mase"]


def test_the_checkpoints_own_season_is_a_second_baseline_where_it_differs(tiny_forecaster_dir):
    """The user's season (4, given) is not the checkpoint's (12): seasonal naive at lag 12 is
    a second baseline on the same MASE scale (lag 4's), and the strongest baseline decides."""
    from model_zoo.comparison import strongest_baseline
    from model_zoo.models.forecasting.baselines import seasonal_naive

    series = seasonal_series(150, season=12, seed=1)
    tuned = model_zoo.finetune(tiny_forecaster_dir, series, season=4, epochs=1, test_size=30,
                               strategy="full")
    record = tuned.finetune_metrics["comparison"]
    assert tuned.season == 4
    assert record["baselines"] == ["baseline", "baseline (lag 12)", "baseline (ETS)"]
    assert "lag 12" in record["models"]["baseline (lag 12)"]
    origins = range(120, 145, 6)  # the test part's 30 values, a horizon (6) at a time
    truth = np.stack([series[t:t + 6] for t in origins])
    lag12 = np.stack([seasonal_naive(series[:t], 6, 12) for t in origins])
    expected = forecast_metrics(truth, lag12, mase_scale(series[:120], 4))["mase"]
    assert record["rows"]["baseline (lag 12)"]["mase"] == pytest.approx(expected, rel=1e-9)
    # A series of season 12 read with lag 4: lag 12 is the stronger baseline, and it decides.
    assert record["rows"]["baseline (lag 12)"]["mase"] < record["rows"]["baseline"]["mase"]
    assert strongest_baseline(record) in ("baseline (lag 12)", "baseline (ETS)")
    # Where the seasons agree, seasonal naive and ETS.
    same = model_zoo.finetune(tiny_forecaster_dir, series, season=12, epochs=1, test_size=30,
                              strategy="full").finetune_metrics["comparison"]
    assert same["baselines"] == ["baseline", "baseline (ETS)"]


def test_ets_is_a_baseline_of_every_forecaster_fine_tune(tiny_forecaster_dir):
    """ETS fitted on the values the fine-tune saw, re-filtered up to each test origin with its
    parameters fixed: on a clean trend plus season it is near perfect, and it decides."""
    from model_zoo.comparison import strongest_baseline
    from model_zoo.models.forecasting.baselines import ets_forecaster

    t = np.arange(150)
    series = 100 + 0.5 * t + 10 * np.sin(2 * np.pi * t / 12)
    record = model_zoo.finetune(tiny_forecaster_dir, series, season=12, epochs=1, test_size=30,
                                strategy="full").finetune_metrics["comparison"]
    ets, label = ets_forecaster(series[:120], 12)
    origins = range(120, 145, 6)
    truth = np.stack([series[t:t + 6] for t in origins])
    expected = forecast_metrics(truth, np.stack([ets(series[:t], 6) for t in origins]),
                                mase_scale(series[:120], 12))
    assert record["rows"]["baseline (ETS)"]["mase"] == pytest.approx(expected["mase"], rel=1e-6)
    assert record["models"]["baseline (ETS)"].startswith(label)
    # Seasonal naive misses the trend (MASE 1 in-sample); ETS follows it.
    assert record["rows"]["baseline (ETS)"]["mase"] < 0.1 < record["rows"]["baseline"]["mase"]
    assert strongest_baseline(record) == "baseline (ETS)"


def test_from_scratch_uses_the_recipe_schedule_of_the_checkpoint():
    from model_zoo.registry import default_registry
    from model_zoo.training.finetune import RecipeSchedule

    def metadata(name):
        return default_registry().get(name).metadata

    published = metadata("forecast_lstm_airline")
    schedule = RecipeSchedule.from_metadata(published)
    assert schedule.learning_rate == published.config["hp"]["learning_rate"]
    assert schedule.patience == published.config["config"]["patience"]
    speech = RecipeSchedule.from_metadata(metadata("asr_crnn_synthetic_en"))
    assert speech.warmup_epochs == 1 and speech.learning_rate == 1.5e-3
    assert RecipeSchedule.from_metadata(None) == RecipeSchedule()  # not from a recipe


@pytest.mark.parametrize("season", [3, 4, 7, 12, 24])
def test_detect_season_finds_the_season_of_a_noisy_trending_series(season):
    from model_zoo.data.timeseries import detect_season

    for seed in range(3):
        assert detect_season(seasonal_series(10 * season + 100, season=season, seed=seed)) \
            == season


def test_detect_season_says_none_without_one_and_prefers_the_hint():
    from model_zoo.data.timeseries import detect_season

    rng = np.random.default_rng(0)
    for _ in range(5):
        assert detect_season(rng.normal(size=300)) == 1  # white noise
        assert detect_season(np.cumsum(rng.normal(size=300))) == 1  # random walk
    assert detect_season(np.arange(50.0)) == 1  # a line: no variation left after differencing
    assert detect_season(seasonal_series(20)) == 1  # too short for three seasons
    # A season of 52.18 (weeks in a year): the peaks at 52, 104 and 157 are about as high;
    # the hint keeps the model's 52 rather than a multiple.
    t = np.arange(1000)
    for _ in range(3):
        weekly = 5 * np.sin(2 * np.pi * t / 52.18) + rng.normal(0, 0.3, t.size)
        assert detect_season(weekly, hint=52) == 52
        unhinted = detect_season(weekly)
        assert abs(unhinted - round(unhinted / 52.18) * 52.18) <= 1.5, unhinted
    assert detect_season(seasonal_series(240), hint=7) == 12  # a hint that does not fit
