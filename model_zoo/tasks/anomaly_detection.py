"""The anomaly-detection task: `load(name).score(series)` and `load(name).detect(series)`."""

import json

import keras
import numpy as np

from model_zoo import limits
from model_zoo.data.anomaly_series import (
    downsample,
    point_scores,
    series_windows,
    upsample,
    window_dataset,
)
from model_zoo.data.timeseries import StandardScaler, as_series, require_length
from model_zoo.errors import InputError
from model_zoo.metrics.anomaly import anomaly_metrics, threshold_from_scores, ucr_hit
from model_zoo.models.copying import copy_model
from model_zoo.tasks.base import Task, register_task
from model_zoo.training.finetune import get_strategy


@register_task("anomaly_detection")
class AnomalyDetector(Task):
    """Scores every point of a univariate series; high scores are anomalous.

    The model reconstructs each window of `window` values (stride 1; values are first
    averaged in blocks of `downsample`, if that is above 1); a point's score is its squared
    reconstruction error (in standardised units) averaged over the windows that cover it. `threshold` was chosen on anomaly-free training data only: points scoring above it
    are flagged.

    Its preprocessing state holds `window`, `downsample`, the `scaler` of the training part,
    `threshold` and the `threshold_quantile` it was chosen at.

    Example:
    >>> detector = model_zoo.load("anomaly_lstmae_mitdb")
    >>> scores = detector.score(ecg)        # one score per point
    >>> flags = detector.detect(ecg)        # True where score > detector.threshold
    """

    @property
    def window(self):
        return int(self.preprocessing["window"])

    @property
    def downsample(self):
        """Block length averaged before windowing (1: none); a window spans `window *
        downsample` values of the series."""
        return int(self.preprocessing.get("downsample", 1))

    @property
    def span(self):
        return self.window * self.downsample

    @property
    def threshold(self):
        return float(self.preprocessing["threshold"])

    @property
    def scaler(self):
        return StandardScaler.from_dict(self.preprocessing["scaler"])

    # -- scoring ---------------------------------------------------------------------------------

    def _reconstruct(self, windows, batch_size=1024):
        out = [keras.ops.convert_to_numpy(self.model(windows[i:i + batch_size], training=False))
               for i in range(0, len(windows), batch_size)]
        return np.concatenate(out) if out else np.zeros_like(windows)

    def _windows(self, scaled):
        return series_windows(downsample(scaled, self.downsample), self.window)

    def _scaled_scores(self, scaled):
        windows = self._windows(scaled)
        errors = (self._reconstruct(windows) - windows)[..., 0] ** 2
        coarse = point_scores(errors, len(windows) + self.window - 1)
        return upsample(coarse, self.downsample, scaled.size)

    def score(self, series, column=None, fill_missing=None):
        """Per-point anomaly scores of `series`.

        Args:
            series: a list, NumPy array or pandas Series, or a CSV path with `column=`; at
                least `window` values.
            column: the CSV or DataFrame column holding the values.
            fill_missing: `"interpolate"` to fill gaps (NaN); by default a gap is an error.

        Returns:
            A NumPy array with one score per value of `series`.

        At most 200,000 values per call (see `model_zoo.limits`: `MODEL_ZOO_MAX_SERIES_VALUES`).
        """
        values = as_series(series, column=column, fill_missing=fill_missing)
        limits.check("series_values", values.size, "The series")
        return self._score_values(values)

    def _score_values(self, values):
        require_length(values, self.span, f"this detector's window of {self.span} values")
        with np.errstate(over="ignore", invalid="ignore"):  # Overflow is reported below.
            scores = self._scaled_scores(self.scaler.scale(values))
        if not np.isfinite(scores).all():
            i = int(np.flatnonzero(~np.isfinite(scores))[0])
            raise InputError(
                "The anomaly scores overflowed: the series' values are too far from the scale "
                f"this detector was trained on (mean {self.scaler.mean:.4g}, std "
                f"{self.scaler.std:.4g}), first at position {i}. Received: {values[i]:.4g}")
        return scores

    def _threshold(self, threshold):
        return self.threshold if threshold is None else limits.finite_number(threshold, "threshold")

    def detect(self, series, column=None, fill_missing=None, threshold=None):
        """Boolean flags, one per value: `score > threshold` (default: the model's threshold)."""
        threshold = self._threshold(threshold)
        return self.score(series, column=column, fill_missing=fill_missing) > threshold

    predict = score

    def predict_example(self):
        n = 3 * self.span
        t = np.arange(n, dtype="float64")
        series = self.scaler.unscale(np.sin(2 * np.pi * t / max(self.span // 2, 2)))
        return self.score(series), (n,)

    # -- evaluation ---------------------------------------------------------------------------------

    def evaluate(self, series, labels, start=0, margin=100):
        """Scores `series`, then compares points `[start:]` with their 0/1 `labels[start:]`.

        Returns:
            precision, recall, F1 (points flagged at the model's threshold), ROC-AUC of the
            scores, and `ucr_hit` (the top-scoring point lies within `margin` points of a
            labelled anomaly).
        """
        labels = np.asarray(labels, dtype="int64")
        values = as_series(series)
        if labels.shape != values.shape:
            raise InputError(
                f"There must be one 0/1 label per value. Received: {labels.size} labels for "
                f"{values.size} values"
            )
        scores = self._score_values(values)[start:]
        metrics = anomaly_metrics(labels[start:], scores, self.threshold)
        metrics["ucr_hit"] = ucr_hit(labels[start:], scores, margin)
        return metrics

    # -- fine-tuning -------------------------------------------------------------------------------

    def finetune(self, data, column=None, epochs=30, val_fraction=0.2, batch_size=64,
                 strategy="full", threshold_quantile=None, fill_missing=None, seed=0,
                 verbose=0):
        """Adapts the detector to a user's anomaly-free series; returns a new `AnomalyDetector`.

        The scaler is refitted on the new series, the autoencoder trains on its first part,
        starting from the published weights, and the threshold is chosen again on the scores
        of the held-out last `val_fraction` of it.

        Args:
            data: the normal (anomaly-free) series: list/array/pandas Series, or a CSV path
                with `column=`.
            column: the CSV or DataFrame column holding the values.
            epochs: training epochs.
            val_fraction: the share at the end held out for early stopping and the threshold.
            batch_size: windows per batch.
            strategy: `"full"` (default) or `"gradual_unfreezing"`, or a strategy object.
            threshold_quantile: quantile of held-out scores used as the threshold (default:
                the model's).
            fill_missing: `"interpolate"` to fill gaps; by default a gap is an error.
            seed: random seed of shuffling.
        """
        values = as_series(data, column=column, fill_missing=fill_missing)
        if not 0 < val_fraction < 1:
            raise InputError(f"`val_fraction` must be in (0, 1). Received: {val_fraction!r}")
        split = int(round(values.size * (1 - val_fraction)))
        require_length(values[:split], 2 * self.span,
                       f"fine-tuning (two {self.span}-value windows before the held-out "
                       f"last {val_fraction:.0%})")
        require_length(values[split:], self.span,
                       f"choosing a threshold (a {self.span}-value window in the held-out "
                       f"last {val_fraction:.0%})")
        keras.utils.set_random_seed(seed)
        scaler = StandardScaler.fit(values[:split])
        scaled = scaler.scale(values)
        train = window_dataset(self._windows(scaled[:split]), batch_size, shuffle=True,
                               seed=seed)
        val = window_dataset(self._windows(scaled[split:]), batch_size)
        model = copy_model(self.model)
        preprocessing = json.loads(json.dumps(self.preprocessing))
        preprocessing["scaler"] = scaler.to_dict()
        quantile = threshold_quantile or self.preprocessing["threshold_quantile"]
        history = get_strategy(strategy).fit(model, train, val, loss="mse", epochs=epochs,
                                             verbose=verbose)
        tuned = AnomalyDetector(model, preprocessing, self.metadata)
        held_out = tuned._scaled_scores(scaled)[split:]
        preprocessing.update(threshold=threshold_from_scores(held_out, quantile),
                             threshold_quantile=quantile)
        tuned.finetune_metrics = {"train_values": split, "val_values": int(values.size - split),
                                  "threshold": preprocessing["threshold"],
                                  "val_mse": float(np.mean(held_out)),
                                  "stages": len(history["stages"])}
        return tuned

    # -- command line --------------------------------------------------------------------------------

    @classmethod
    def add_cli_arguments(cls, parser):
        parser.add_argument("--csv", required=True, help="CSV file holding the series")
        parser.add_argument("--column", required=True, help="column of the series' values")
        parser.add_argument("--fill-missing", choices=["interpolate"], default=None,
                            help="fill gaps (NaN) instead of rejecting them")
        parser.add_argument("--threshold", type=float, default=None,
                            help="flag scores above this (default: the model's threshold)")

    def predict_cli(self, args):
        threshold = self._threshold(args.threshold)
        scores = self.score(args.csv, column=args.column, fill_missing=args.fill_missing)
        flagged = np.flatnonzero(scores > threshold)
        return {"model": self.name, "points": int(scores.size), "threshold": threshold,
                "flagged": [int(i) for i in flagged],
                "scores": [round(float(s), 6) for s in scores]}

    @classmethod
    def finetune_data_from_cli(cls, args):
        return {"data": args.csv, "column": args.column, "fill_missing": args.fill_missing}
