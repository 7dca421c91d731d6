"""Detecting anomalies with an LSTM autoencoder, against an isolation forest.

    model-zoo train anomaly_detection --set dataset=mitdb --publish

Two real labelled series, each with a fixed split: an anomaly-free training part, then a test
part holding the labelled anomalies.

| series | values | train (anomaly-free) | test anomalies       | window                 |
|--------|--------|----------------------|----------------------|------------------------|
| mitdb  | 7,500  | [0, 3000)            | 352 points (1 event) | 80 means of 4 values   |
| ucr135 | 7,501  | [0, 1200) (archive)  | 12 points (1 event)  | 64 values              |

(The ECG is averaged in blocks of 4 values first, so that one window spans about a heartbeat:
a premature beat is an anomaly of rhythm as much as of shape.) The published mitdb detector
trained for up to 100 epochs with patience 15 (`--set epochs=100 --set patience=15`).

The autoencoder trains on windows of the first `1 - val_fraction` of the training part; the
rest of the training part is held out for early stopping and for the threshold (a quantile of
its point scores). The test part is used once, at the end. In the same run an isolation forest
(scikit-learn) scores the same windows, with the same point aggregation and the same rule for
its threshold. Both are measured by point-wise precision, recall and F1 at their threshold,
ROC-AUC of their scores, and the UCR archive's hit score (is the top-scoring test point within
100 points of the anomaly?).
"""

import os

import numpy as np

from model_zoo.data.anomaly_series import (
    downsample,
    load_labelled_series,
    series_windows,
    window_dataset,
)
from model_zoo.data.timeseries import StandardScaler
from model_zoo.metrics.anomaly import anomaly_metrics, threshold_from_scores, ucr_hit
from model_zoo.models.anomaly import baselines as anomaly_baselines
from model_zoo.models.anomaly import build_lstm_autoencoder
from model_zoo.tasks.anomaly_detection import AnomalyDetector, check_aggregation
from model_zoo.training import fit as training
from model_zoo.training.plots import pyplot, save_figure
from model_zoo.training.recipe import Recipe, register_recipe

SETS = {
    "mitdb": dict(window=80, downsample=4, cell="lstm", units=64, depth=1, latent=32,
                  learning_rate=2e-3),
    "ucr135": dict(window=64, downsample=1, cell="lstm", units=32, depth=1, latent=16,
                   learning_rate=2e-3),
}

DEFAULTS = {
    "dataset": "mitdb",
    "epochs": 60,
    "batch_size": 64,
    "patience": 10,
    "val_fraction": 0.2,
    "threshold_quantile": 0.995,
    # How window errors become point scores (`AnomalyDetector`): "window", each window's mean
    # error over all its points, or "position" (version 1 of the published detectors).
    "aggregation": "window",
    "window": 0,  # 0: the series' default (SETS)
    "downsample": 0,  # 0: the series' default (SETS)
    "baselines": True,
}


def geometry(config):
    """`(window, downsample)` of the run: the config's, else the series' defaults."""
    profile = SETS[config["dataset"]]
    return (config.get("window") or profile["window"],
            config.get("downsample") or profile["downsample"])


# ## 1. Data
#
# The values and labels come from the packages that ship them (model_zoo.data.anomaly_series).
# The scaler is fitted on the training windows' values only.


class AnomalyData:
    """One labelled series: fit part, threshold part (both anomaly-free), test part."""

    def __init__(self, dataset, val_fraction, window, factor):
        self.series = load_labelled_series(dataset)
        self.values, self.labels = self.series.values, self.series.labels
        self.window, self.downsample = window, factor
        self.test_start = self.series.train_end
        self.fit_end = int(round(self.test_start * (1 - val_fraction)))
        self.scaler = StandardScaler.fit(self.values[:self.fit_end])
        self.scaled = self.scaler.scale(self.values)
        self._scored = (None, None)
        self.forest_scores = None  # The isolation forest's point scores, once `baselines` ran.

    def scores_of(self, task):
        """`task`'s point scores of the whole series, computed once per task (the evaluation
        and the plots share them)."""
        if self._scored[0] is not task:
            self._scored = (task, task.score(self.values))
        return self._scored[1]

    def windows(self, start, stop):
        return series_windows(downsample(self.scaled[start:stop], self.downsample), self.window)

    def datasets(self, batch_size, seed=0):
        train = window_dataset(self.windows(0, self.fit_end), batch_size, shuffle=True,
                               seed=seed)
        val = window_dataset(self.windows(self.fit_end, self.test_start), batch_size)
        return train, val

    def split(self):
        return {"fit": [0, self.fit_end], "threshold_and_validation": [self.fit_end,
                                                                       self.test_start],
                "test": [self.test_start, int(self.values.size)],
                "unit": "positions in the series, [start, end)",
                "note": self.series.split_note,
                "test_anomalies": self.series.segments(self.test_start)}

    def sample_range(self, limit):
        """The `limit` test points centred on the first test anomaly (the quick check)."""
        first, last = self.series.segments(self.test_start)[0]
        lo = max(self.test_start, (first + last) // 2 - limit // 2)
        hi = min(int(self.values.size), lo + limit)
        return max(self.test_start, hi - limit), hi


def load_data(config):
    return AnomalyData(config["dataset"], config["val_fraction"], *geometry(config))


# ## 2. Model
#
# `build_model(keras_tuner.HyperParameters())` builds the published mitdb model; the search
# space covers the cell, width, depth, bottleneck and learning rate (the window is fixed per
# series: it sets what counts as one shape).


def build_model(hp, config=None):
    config = {**DEFAULTS, **(config or {})}
    profile = SETS[config["dataset"]]
    hp.Float("learning_rate", 1e-4, 1e-2, sampling="log", default=profile["learning_rate"])
    return build_lstm_autoencoder(
        window=geometry(config)[0],
        cell=hp.Choice("cell", ["lstm", "gru"], default=profile["cell"]),
        units=hp.Int("units", 8, 128, step=8, default=profile["units"]),
        depth=hp.Int("depth", 1, 2, default=profile["depth"]),
        latent=hp.Int("latent", 4, 64, step=4, default=profile["latent"]),
        name=f"lstm_autoencoder_{config['dataset']}",
    )


# ## 3. Training
#
# Mean squared reconstruction error of anomaly-free windows; Adam with a cosine schedule and
# gradient clipping; early stopping on the held-out windows of the training part.


def fit(model, data, config, hp, callbacks=(), epochs=None, verbose=2, **kwargs):
    train, val = data.datasets(config["batch_size"])
    return training.fit(model, train, val, loss="mse", epochs=epochs or config["epochs"],
                        learning_rate=hp.get("learning_rate"), patience=config["patience"],
                        callbacks=callbacks, verbose=verbose)


# ## 4. Threshold, evaluation and baselines
#
# The threshold is the `threshold_quantile` of the point scores of the held-out part of the
# training data, scored from the training part alone: no test value is looked at.


def evaluate(task, data, config, limit=None):
    if limit:
        lo, hi = data.sample_range(limit)
        metrics = task.evaluate(data.values[lo:hi], data.labels[lo:hi])
    else:
        scores = data.scores_of(task)[data.test_start:]
        metrics = anomaly_metrics(data.labels[data.test_start:], scores, task.threshold)
        metrics["ucr_hit"] = ucr_hit(data.labels[data.test_start:], scores)
    return {k: metrics[k] for k in ("precision", "recall", "f1", "roc_auc", "ucr_hit",
                                    "flagged")}


def forest_scores(forest, data, stop=None):
    """Point scores of `data.scaled[:stop]` by the forest (`anomaly_baselines.forest_scores`)."""
    return anomaly_baselines.forest_scores(forest, data.scaled[:stop], data.window,
                                           data.downsample)


def baselines(data, config):
    """The isolation forest (`model_zoo.models.anomaly.baselines`), fitted on the same training
    windows as the autoencoder, its threshold chosen by the same rule."""
    if not config.get("baselines", True):
        return {}
    forest = anomaly_baselines.isolation_forest(data.windows(0, data.fit_end))
    training_scores = forest_scores(forest, data, data.test_start)
    threshold = threshold_from_scores(training_scores[data.fit_end:],
                                      config["threshold_quantile"])
    scores = data.forest_scores = forest_scores(forest, data)
    test_labels, test_scores = data.labels[data.test_start:], scores[data.test_start:]
    metrics = anomaly_metrics(test_labels, test_scores, threshold)
    metrics["ucr_hit"] = ucr_hit(test_labels, test_scores)
    return {"isolation_forest": {
        **{k: metrics[k] for k in ("precision", "recall", "f1", "roc_auc", "ucr_hit",
                                   "flagged")},
        "threshold": threshold,
        "model": anomaly_baselines.DESCRIPTION}}


def plot_scores(task, data, config, metrics, out_dir):
    plt = pyplot()

    scores = data.scores_of(task)
    forest = data.forest_scores if metrics.get("baselines") else None
    x = np.arange(data.values.size)
    fig, axes = plt.subplots(3 if forest is not None else 2, 1, figsize=(11, 6), sharex=True)
    axes[0].plot(x, data.values, color="black", lw=0.6)
    axes[0].fill_between(x, data.values.min(), data.values.max(), where=data.labels > 0,
                         color="red", alpha=0.25, label="labelled anomaly")
    axes[0].axvline(data.test_start, color="grey", ls="--", lw=0.8)
    axes[0].legend(fontsize=7, loc="upper left")
    axes[0].set_title(f"{config['dataset']}: series (test part right of the dashed line)")
    axes[1].plot(x, scores, lw=0.7, label="LSTM autoencoder score")
    axes[1].axhline(task.threshold, color="red", lw=0.8, label="threshold (training data)")
    axes[1].legend(fontsize=7, loc="upper left")
    if forest is not None:
        axes[2].plot(x, forest, lw=0.7, color="tab:green", label="isolation forest score")
        axes[2].axhline(metrics["baselines"]["isolation_forest"]["threshold"], color="red",
                        lw=0.8)
        axes[2].legend(fontsize=7, loc="upper left")
    return [save_figure(fig, os.path.join(out_dir, f"scores_{config['dataset']}.png"))]


# ## Model card notes (the checkpoint's "Intended use and limitations"; see
# `model_zoo.checkpoint.fill_card_notes`: templates over the run's test metrics)

CARD_NOTES = {
    "intended_use": (
        "Point-wise anomaly scores for a univariate series like the one it was trained on (same "
        "sensor, sampling rate and normal behaviour); `detect` flags the points above a "
        "threshold set on anomaly-free training data. A research baseline, not a monitoring "
        "system; for a new series, fine-tune it on that series' own normal data."),
    "limitations": [
        "Trained and tested on one labelled series with a single anomalous event: its numbers "
        "say little about other series, other kinds of anomaly or other sampling rates.",
        "Point-wise F1 at a threshold set on clean training data (the 99.5% quantile of normal "
        "scores) is strict: few points are flagged (F1 {test[f1]:.3f}, {test[flagged]} test "
        "points flagged); ROC-AUC ({test[roc_auc]:.3f}) compares detectors without a threshold.",
        "The autoencoder knows only the normal shapes it saw; a series of another scale needs "
        "`normalize=` chosen for it, or fine-tuning.",
        "It scores points with `aggregation=\"{config[aggregation]}\"`: `\"window\"` (each "
        "window's mean error) finds long events and dilutes short spikes, `\"position\"` the "
        "reverse; `score(..., aggregation=...)` takes the other per call (with a threshold of "
        "your own), and fine-tuned detectors score by position unless told otherwise.",
    ],
    "datasets": {
        "mitdb": {"limitations": [
            "ECG (MIT-BIH excerpt): the autoencoder reconstructs the sharp QRS complexes only "
            "roughly, and most of the labelled event is the quiet pause after a premature beat, "
            "which a shape model scores low where it is: only whole-window scores "
            "(`aggregation=\"window\"`, since version 2) lift the stretch around the premature "
            "beat, and neighbouring normal beats with it (precision {test[precision]:.3f}). A "
            "forecaster-residual detector, which models the rhythm, would place the event more "
            "precisely."]},
        "ucr135": {"limitations": [
            "The anomaly is 12 points of 7,501 (0.19%): recall is {test[recall]:.3f} although "
            "the single top-scoring test point falls inside the anomaly (UCR hit "
            "{test[ucr_hit]:g})."]},
    },
}


# ## 5. Registration


@register_recipe
class AnomalyDetectionRecipe(Recipe):
    name = "anomaly_detection"
    task = "anomaly_detection"
    architecture = "lstm_autoencoder"
    description = "LSTM autoencoder anomaly scores per point, vs an isolation forest."
    card_notes = CARD_NOTES
    defaults = DEFAULTS
    smoke = {"dataset": "ucr135", "epochs": 1, "units": 8, "latent": 4, "baselines": False}
    objective = "val_loss"
    sample_size = 1000

    def checkpoint_name(self, config):
        return f"anomaly_lstmae_{config['dataset']}"

    def describe(self, config):
        window, factor = geometry(config)
        return (f"LSTM autoencoder scoring each point of {config['dataset']}-like series "
                f"(windows of {window} means of {factor} values).")

    load_data = staticmethod(load_data)
    build_model = staticmethod(build_model)
    fit = staticmethod(fit)
    evaluate = staticmethod(evaluate)
    baselines = staticmethod(baselines)
    plots = staticmethod(plot_scores)

    @staticmethod
    def make_task(model, data, config):
        quantile = config["threshold_quantile"]
        preprocessing = {"window": data.window, "downsample": data.downsample,
                         "scaler": data.scaler.to_dict(),
                         "threshold": 0.0, "threshold_quantile": quantile,
                         "aggregation": check_aggregation(config["aggregation"])}
        task = AnomalyDetector(model, preprocessing)
        held_out = task.score(data.values[:data.test_start])[data.fit_end:]
        preprocessing["threshold"] = threshold_from_scores(held_out, quantile)
        return task

    @staticmethod
    def dataset_info(data, config):
        s = data.series
        return {"name": s.name, "source": s.source, "license": s.license,
                "values": int(data.values.size), "split": data.split()}
