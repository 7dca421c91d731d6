"""The forecasting pipeline, task and fine-tuning: shapes, scaling, metrics, bad inputs."""

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


@pytest.mark.parametrize("season", [1, 4, 12])
def test_metrics_match_sktime(season):
    """The hand-written MASE / sMAPE agree with sktime's to every digit (see the module doc)."""
    metrics = pytest.importorskip("sktime.performance_metrics.forecasting")
    rng = np.random.default_rng(season)
    train, truth = rng.normal(10, 2, 60), rng.normal(10, 2, 12)
    pred = truth + rng.normal(0, 1, 12)
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
    # out for the comparison with seasonal naive), nor the 15 validation values before them.
    assert m["comparison"]["split"]["test"] == 42 and m["val_values"] == 15
    assert reloaded.scaler.mean == pytest.approx(np.mean(series[:143]), rel=1e-6)
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
    # `auto` (the default) from random weights is the one thing it can be: `full`.
    again = model_zoo.finetune(parent, series, epochs=2, init="random", strategy="auto")
    assert again.finetune_metrics["strategy"]["chosen"] == "full"
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
