"""Forecasting real series with a stacked LSTM, against the classical baselines.

    model-zoo train forecasting --set dataset=taylor --publish

Four real series, each with its own season and a fixed split by time (the last `test_size`
values are the test period, the `val_size` before them validate, the rest train):

| series   | frequency   | values | season | horizon | lookback | val | test |
|----------|-------------|--------|--------|---------|----------|-----|------|
| taylor   | half-hourly | 4,032  | 48     | 48      | 1,008    | 336 | 672  |
| co2      | weekly      | 2,284  | 52     | 52      | 156      | 104 | 208  |
| sunspots | yearly      | 309    | 11     | 11      | 44       | 22  | 33   |
| airline  | monthly     | 144    | 12     | 12      | 36       | 12  | 24   |

The test period is forecast from rolling origins, `horizon` values at a time, each from the
true history before it. In the same run the seasonal-naive, ETS and ARIMA (lowest AIC among a
few fixed orders) baselines forecast the same origins, and MASE, sMAPE and RMSE are reported
for all of them.
"""

import os

import numpy as np

from model_zoo.data.series_sources import load_corpus, load_series
from model_zoo.data.timeseries import StandardScaler, make_windows, windows_dataset
from model_zoo.errors import InputError
from model_zoo.models.forecasting import baselines as classical
from model_zoo.models.forecasting import build_lstm_forecaster
from model_zoo.metrics.forecasting import forecast_metrics, mase_scale
from model_zoo.training import fit as training
from model_zoo.training.finetune import GradualUnfreezing, merged_history
from model_zoo.training.plots import pyplot, save_figure
from model_zoo.training.recipe import Recipe, register_recipe

# What every series shares unless its profile says otherwise.
COMMON = dict(
    transform="none", residual=True, window_norm=True, conv_stride=1, epochs=80, patience=15,
    extra_naive_seasons=[], pretrain="", pretrain_epochs=0, pretrain_max_windows=0,
    cell="lstm", depth=2, dropout=0.1, learning_rate=1e-3)

# Per-series settings: the split, the seasonal base the network corrects, and the published
# network. `base_season`/`drift`: the network forecasts a correction to the seasonal-naive
# forecast at lag `base_season` (with drift for trending series). `pretrain`: a corpus of other
# real series to pre-train on first (then the target's windows fine-tune it); airline has only
# 61 training windows, so its network first learns monthly patterns from 148 US employment
# series (fpp3) and is then fine-tuned with gradual unfreezing.
SERIES = {
    "taylor": {**COMMON, **dict(
        season=48, lookback=1008, horizon=48, val_size=336, test_size=672, base_season=336,
        drift=False, conv_stride=8, epochs=40, patience=8, extra_naive_seasons=[336],
        units=64)},
    "co2": {**COMMON, **dict(
        season=52, lookback=156, horizon=52, val_size=104, test_size=208, base_season=52,
        drift=True, units=64)},
    "sunspots": {**COMMON, **dict(
        season=11, lookback=44, horizon=11, val_size=22, test_size=33, base_season=11,
        drift=False, units=32)},
    "airline": {**COMMON, **dict(
        season=12, lookback=36, horizon=12, val_size=12, test_size=24, base_season=12,
        drift=True, transform="log", pretrain="us_employment", pretrain_epochs=8, units=32)},
}

DEFAULTS = {
    "dataset": "taylor",
    "batch_size": 32,
    "baselines": True,
}


# ## 1. Data
#
# The values come from the packages that ship them (see model_zoo.data.series_sources); the
# split is fixed by position. The scaler is fitted on the training values only.


class SeriesData:
    """One series with its fixed split: `values[:train_end]` train, then val, then test."""

    def __init__(self, config):
        source = load_series(config["dataset"])
        self.source = source
        self.values = source.values
        self.season = config["season"]
        self.horizon = config["horizon"]
        self.lookback = config["lookback"]
        self.test_start = self.values.size - config["test_size"]
        self.train_end = self.test_start - config["val_size"]
        self.test_size = config["test_size"]
        self.scaler = StandardScaler.fit(self.values[:self.train_end], config["transform"])

    def datasets(self, batch_size, seed=0):
        """tf.data pipelines of training and validation windows (no target crosses a split)."""
        scaled = self.scaler.scale(self.values)
        train = windows_dataset(scaled, self.lookback, self.horizon, batch_size,
                                stop=self.train_end - self.horizon + 1, shuffle=True, seed=seed)
        val = windows_dataset(scaled, self.lookback, self.horizon, batch_size,
                              start=self.train_end, stop=self.test_start - self.horizon + 1)
        return train, val

    def split(self):
        n = self.values.size
        return {"train": [0, self.train_end], "validation": [self.train_end, self.test_start],
                "test": [self.test_start, n], "unit": "positions in the series, [start, end)",
                "evaluation": f"rolling origins every {self.horizon} values over the test period"}


def load_data(config):
    return SeriesData(config)


# The split and windows of the chosen series become part of the run's config (and so of the
# checkpoint's metadata); each can be overridden with `--set`, e.g. `--set lookback=48`.
DATA_KEYS = ("season", "lookback", "horizon", "val_size", "test_size", "transform",
             "base_season", "drift", "residual", "window_norm", "conv_stride", "epochs",
             "patience",
             "extra_naive_seasons", "pretrain", "pretrain_epochs", "pretrain_max_windows")


def complete_config(config):
    if config["dataset"] not in SERIES:
        raise InputError(
            f"Unknown series for the forecasting recipe; choose one of {sorted(SERIES)}. "
            f"Received: dataset={config['dataset']!r}"
        )
    profile = SERIES[config["dataset"]]
    return {**{k: profile[k] for k in DATA_KEYS}, **config}


# ## 2. Model
#
# `build_model(keras_tuner.HyperParameters())` builds the published taylor model; the search
# space around it covers the cell type, width, depth, dropout and learning rate.


def build_model(hp, config=None):
    config = complete_config({**DEFAULTS, **(config or {})})
    profile = SERIES[config["dataset"]]
    hp.Float("learning_rate", 1e-4, 1e-2, sampling="log", default=profile["learning_rate"])
    return build_lstm_forecaster(
        lookback=config["lookback"],
        horizon=config["horizon"],
        season=config["base_season"],
        drift=config["drift"],
        seasonal_residual=config["residual"],
        window_norm=config["window_norm"],
        conv_stride=config["conv_stride"],
        cell=hp.Choice("cell", ["lstm", "gru"], default=profile["cell"]),
        units=hp.Int("units", 16, 128, step=16, default=profile["units"]),
        depth=hp.Int("depth", 1, 3, default=profile["depth"]),
        dropout=hp.Float("dropout", 0.0, 0.3, step=0.05, default=profile["dropout"]),
        name=f"lstm_forecaster_{config['dataset']}",
    )


# ## 3. Training
#
# Mean absolute error on standardised values (MASE is an absolute error too), Adam with a
# cosine schedule and gradient clipping, early stopping on the validation windows.


def corpus_dataset(name, data, batch_size, stride=2, max_windows=0, seed=0):
    """Windows from every series of a pre-training corpus, each scaled by its own scaler."""
    import tensorflow as tf

    xs, ys = [], []
    for values in load_corpus(name):
        scaled = StandardScaler.fit(values, data.scaler.transform).scale(values)
        x, y, _ = make_windows(scaled, data.lookback, data.horizon, stride=stride)
        xs.append(x)
        ys.append(y)
    x, y = np.concatenate(xs), np.concatenate(ys)
    if max_windows:
        keep = np.random.default_rng(seed).permutation(len(x))[:max_windows]
        x, y = x[keep], y[keep]
    return (tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=seed)
            .batch(batch_size).prefetch(tf.data.AUTOTUNE))


def fit(model, data, config, hp, callbacks=(), epochs=None, verbose=2, **kwargs):
    train, val = data.datasets(config["batch_size"])
    if config.get("pretrain"):
        corpus = corpus_dataset(config["pretrain"], data, 64,
                                max_windows=config["pretrain_max_windows"])
        training.fit(model, corpus, None, loss="mae", epochs=config["pretrain_epochs"],
                     learning_rate=hp.get("learning_rate"), callbacks=callbacks,
                     verbose=verbose)
        strategy = GradualUnfreezing(learning_rate=hp.get("learning_rate"),
                                     patience=config["patience"], callbacks=tuple(callbacks))
        report = strategy.fit(model, train, val, loss="mae", epochs=epochs or config["epochs"],
                              verbose=verbose)
        return merged_history(report)
    return training.fit(model, train, val, loss="mae", epochs=epochs or config["epochs"],
                        learning_rate=hp.get("learning_rate"), patience=config["patience"],
                        callbacks=callbacks, verbose=verbose)


# ## 4. Evaluation and baselines
#
# The network and every baseline forecast the same origins from the same history. MASE is
# scaled by the in-sample seasonal-naive error of all values before the test period.


def evaluate(task, data, config, limit=None):
    result = task.evaluate(data.values, data.test_size, max_origins=limit)
    return {k: result[k] for k in ("mase", "smape", "rmse")}


def baselines(data, config):
    if not config.get("baselines", True):
        return {}
    history = data.values[:data.test_start]
    origins = list(range(data.test_start, data.values.size - data.horizon + 1, data.horizon))
    truth = np.stack([data.values[t:t + data.horizon] for t in origins])
    scale = mase_scale(history, data.season)
    forecasters = {}
    for m in [data.season] + config["extra_naive_seasons"]:
        label = "seasonal_naive" if m == data.season else f"seasonal_naive_{m}"
        forecasters[label] = (lambda h, n, m=m: classical.seasonal_naive(h, n, m), f"lag {m}")
    ets, ets_label = classical.ets_forecaster(history, data.season)
    if ets:
        forecasters["ets"] = (ets, ets_label)
    arima, arima_label = classical.arima_forecaster(
        history, data.season, seasonal=config["dataset"] != "sunspots",
        log=config["transform"] == "log",
        fourier_periods=([data.season] + config["extra_naive_seasons"]
                         if data.season >= 24 else None))
    if arima:
        forecasters["arima"] = (arima, arima_label)
    results = {}
    for name, (forecast, label) in forecasters.items():
        preds = np.stack([forecast(data.values[:t], data.horizon) for t in origins])
        results[name] = {**forecast_metrics(truth, preds, scale), "model": label}
        results[name]["forecasts"] = preds.tolist()
    return results


def plot_forecasts(task, data, config, metrics, out_dir):
    plt = pyplot()

    result = task.evaluate(data.values, data.test_size, return_forecasts=True)
    start = max(0, data.test_start - 2 * data.test_size)
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.plot(range(start, data.values.size), data.values[start:], color="black", lw=1,
            label="truth")
    stitched = lambda rows: np.concatenate(rows)  # noqa: E731
    xs = np.arange(data.test_start, data.test_start + len(result["origins"]) * data.horizon)
    ax.plot(xs, stitched(result["forecasts"]), lw=1.5,
            label=f"LSTM (MASE {result['mase']:.3f})")
    for name, b in metrics.get("baselines", {}).items():
        ax.plot(xs, stitched(b["forecasts"]), lw=1, alpha=0.7,
                label=f"{name} {b.get('model', '')} (MASE {b['mase']:.3f})")
    ax.axvline(data.test_start, color="grey", ls="--", lw=0.8)
    ax.set_title(f"{config['dataset']}: test-period forecasts, {data.horizon} steps per origin")
    ax.legend(fontsize=7, loc="upper left")
    return [save_figure(fig, os.path.join(out_dir, f"forecast_{config['dataset']}.png"))]


# ## Model card notes (the checkpoint's "Intended use and limitations"; see
# `model_zoo.checkpoint.fill_card_notes`: templates over the run's test metrics)

CARD_NOTES = {
    "intended_use": (
        "Point forecasts, {config[horizon]} steps at a time, of the series it was trained on "
        "(continuing it from {config[lookback]} recent values), or of another series of the same "
        "frequency and season after fine-tuning (`model_zoo.finetune`), whose card compares it "
        "with seasonal naive on the held-out part of that series."),
    "limitations": [
        "Point forecasts only: no prediction intervals.",
        "Judged on one series, from rolling origins over its last values: a single test period "
        "says little about other series, and a series of another scale, frequency or season is "
        "outside what it learnt until it is fine-tuned.",
        "The classical baselines are simple automatic procedures: seasonal naive, ETS chosen by "
        "AIC, and ARIMA chosen by AIC among a few fixed orders (not a stepwise auto-ARIMA "
        "search); a statistician's tuned model may beat them.",
    ],
    "datasets": {
        "taylor": {"limitations": [
            "The margin over the best classical baseline is small: MASE {test[mase]:.3f} against "
            "{baselines[seasonal_naive_336][mase]:.3f} for the same half-hour last week."]},
        "airline": {"limitations": [
            "144 monthly values: the test period is the last 24, so the metrics rest on two "
            "forecasts of 12 months. The network was pre-trained on US employment series before "
            "training on airline's few windows."]},
        "co2": {"limitations": [
            "59 missing weeks of the series were filled by linear interpolation before training "
            "and testing."]},
    },
}


# ## 5. Registration


@register_recipe
class ForecastingRecipe(Recipe):
    name = "forecasting"
    task = "forecasting"
    architecture = "stacked_lstm_forecaster"
    description = ("Stacked LSTM forecaster with seasonal-naive residual, vs seasonal naive, ETS "
                   "and ARIMA (lowest AIC of a few fixed orders).")
    card_notes = CARD_NOTES
    defaults = DEFAULTS
    smoke = {"dataset": "airline", "epochs": 1, "units": 8, "depth": 1, "pretrain_epochs": 1,
             "pretrain_max_windows": 256}
    sample_size = 2

    def checkpoint_name(self, config):
        return f"forecast_lstm_{config['dataset']}"

    def describe(self, config):
        return (f"Stacked LSTM forecasting {config['dataset']} {config['horizon']} steps ahead "
                f"from {config['lookback']} values.")

    complete_config = staticmethod(complete_config)
    load_data = staticmethod(load_data)
    build_model = staticmethod(build_model)
    fit = staticmethod(fit)
    evaluate = staticmethod(evaluate)
    baselines = staticmethod(baselines)
    plots = staticmethod(plot_forecasts)

    @staticmethod
    def preprocessing(data, config):
        return {"lookback": data.lookback, "horizon": data.horizon, "season": data.season,
                "frequency": data.source.frequency, "scaler": data.scaler.to_dict()}

    @staticmethod
    def dataset_info(data, config):
        s = data.source
        return {"name": s.name, "source": s.source, "license": s.license, "start": s.start,
                "frequency": s.frequency, "values": int(data.values.size),
                "interpolated_missing_values": s.interpolated, "split": data.split()}
