"""Shared fixtures. Every test gets its own cache and runs folder; nothing touches ~/.cache."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from series_data import seasonal_series  # noqa: E402


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    monkeypatch.setenv("MODEL_ZOO_HOME", str(tmp_path / "zoo_home"))
    monkeypatch.setenv("MODEL_ZOO_RUNS", str(tmp_path / "runs"))
    monkeypatch.delenv("MODEL_ZOO_OFFLINE", raising=False)
    monkeypatch.delenv("MODEL_ZOO_REGISTRY", raising=False)
    yield


@pytest.fixture(scope="session")
def tiny_forecaster_dir(tmp_path_factory):
    """A small, untrained forecaster checkpoint written with the real checkpoint code."""
    from model_zoo.data.timeseries import StandardScaler
    from model_zoo.models.forecasting import build_lstm_forecaster
    from model_zoo.registry import CheckpointMetadata
    from model_zoo.tasks.forecasting import Forecaster

    import keras

    keras.utils.set_random_seed(0)
    model = build_lstm_forecaster(lookback=24, horizon=6, season=12, units=8, depth=1,
                                  dropout=0.0)
    # Non-zero head weights, so that the network's output differs from the seasonal naive.
    head = model.get_layer("head")
    head.set_weights([np.random.default_rng(0).normal(0, 0.1, w.shape) for w in
                      head.get_weights()])
    series = seasonal_series(120)
    task = Forecaster(model, {"lookback": 24, "horizon": 6, "season": 12, "frequency": "MS",
                              "scaler": StandardScaler.fit(series[:100]).to_dict()})
    directory = tmp_path_factory.mktemp("ckpt") / "forecast_lstm_tiny"
    metadata = CheckpointMetadata(name="forecast_lstm_tiny", version=1, task="forecasting",
                                  architecture="stacked_lstm_forecaster",
                                  description="tiny test model", recipe="forecasting")
    task.save(str(directory), metadata)
    return str(directory)


@pytest.fixture(scope="session")
def tiny_classifier_dir(tmp_path_factory):
    """A small, untrained 2-channel, 3-class classifier checkpoint."""
    import keras

    from model_zoo.data.labelled_series import PAD_VALUE
    from model_zoo.models.series_classification import build_rnn_classifier
    from model_zoo.registry import CheckpointMetadata
    from model_zoo.tasks.series_classification import SeriesClassifier

    keras.utils.set_random_seed(0)
    model = build_rnn_classifier(channels=2, classes=3, units=8, depth=1, dropout=0.0)
    task = SeriesClassifier(model, {"channels": 2, "classes": ["a", "b", "c"],
                                    "scaler": {"mean": [0.0, 0.0], "std": [1.0, 2.0]},
                                    "pad_value": PAD_VALUE, "dataset": "tiny"})
    directory = tmp_path_factory.mktemp("ckpt") / "classify_bigru_tiny"
    task.save(str(directory), CheckpointMetadata(
        name="classify_bigru_tiny", version=1, task="series_classification",
        architecture="bigru_series_classifier", description="tiny test model",
        recipe="series_classification"))
    return str(directory)
