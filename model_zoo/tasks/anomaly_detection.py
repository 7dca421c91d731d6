"""The anomaly-detection task: `load(name).score(series)` and `load(name).detect(series)`."""

import json
import os
import warnings

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
from model_zoo.models.anomaly import normalization
from model_zoo.models.copying import copy_model
from model_zoo.models.step_functions import inference_function
from model_zoo.tasks.base import Task, register_task
from model_zoo.tasks.cli_arguments import ANOMALY_AGGREGATIONS
from model_zoo.training.finetune import get_strategy


#: How a detector turns its windows' reconstruction errors into point scores (defined with the
#: command-line arguments, which import no TensorFlow).
AGGREGATIONS = ANOMALY_AGGREGATIONS


def check_aggregation(aggregation):
    if aggregation not in AGGREGATIONS:
        raise InputError(f"`aggregation` must be one of {AGGREGATIONS}. "
                         f"Received: {aggregation!r}")
    return aggregation


@register_task("anomaly_detection")
class AnomalyDetector(Task):
    """Scores every point of a univariate series; high scores are anomalous.

    The model reconstructs each window of `window` values (stride 1; values are first
    averaged in blocks of `downsample`, if that is above 1) and scores it by its squared
    reconstruction error in standardised units; a point's score is the mean over the windows
    that cover it of either each window's mean squared error (`aggregation="window"`, the
    recipe's default since version 2 of the published detectors: an event lifts the score of
    the whole stretch around it, as the isolation forest's per-window scores do) or the error
    at the point's own position in each window (`"position"`, version 1, fine-tuned detectors
    by default, and detectors saved before there was a choice). Whole windows find long events
    (an arrhythmia's pause: mitdb ROC-AUC 0.974 against 0.739) and dilute short spikes (Yahoo's
    single-point anomalies, fine-tuned: 0.78 against 1.000): `score(..., aggregation=...)`
    overrides the detector's default per call. `threshold` was chosen on anomaly-free training
    data only, with the detector's own aggregation: points scoring above it are flagged.

    How a series is standardised first is `normalize` (see
    `model_zoo.models.anomaly.normalization`): `"checkpoint"` (the scaler stored with the
    detector; the default of the published checkpoints, whose recorded metrics were measured
    so), `"series"` (a robust scaler refitted to each series scored: scores do not change with
    the series' level or units) or `"local"` (the level taken out by a rolling median over
    `level_window` values first: robust to a drifting level as well; the default of
    fine-tuned detectors). Zero-shot on a series of your own, pass `normalize="series"` or
    `"local"`.

    Its preprocessing state holds `window`, `downsample`, the `scaler` of the training part,
    `threshold`, the `threshold_quantile` it was chosen at and, when set, `aggregation`,
    `normalize` and `level_window`.

    Example:
    >>> detector = model_zoo.load("anomaly_lstmae_mitdb")
    >>> scores = detector.score(ecg)        # one score per point
    >>> flags = detector.detect(ecg)        # True where score > detector.threshold
    >>> flags = detector.detect(my_series, normalize="local")  # zero-shot on another series
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

    @property
    def aggregation(self):
        """How window errors become point scores: `"window"` or `"position"` (see the class
        docstring; `"position"` for detectors saved before there was a choice)."""
        return check_aggregation(self.preprocessing.get("aggregation", "position"))

    @property
    def normalize(self):
        """The default standardisation of `score`: `"checkpoint"`, `"series"` or `"local"`
        (`"checkpoint"` for detectors saved before there was a choice)."""
        return self.preprocessing.get("normalize", "checkpoint")

    @property
    def level_window(self):
        """Values per rolling median of `normalize="local"` (default: 8 spans)."""
        return int(self.preprocessing.get("level_window") or 8 * self.span)

    def _normalized(self, values, normalize=None):
        mode = normalization.check_mode(self.normalize if normalize is None else normalize)
        return normalization.normalize(values, mode, self.scaler, self.level_window)

    # -- scoring ---------------------------------------------------------------------------------

    def _reconstruct(self, windows, batch_size=1024):
        forward = inference_function(self.model)
        out = [keras.ops.convert_to_numpy(forward(windows[i:i + batch_size]))
               for i in range(0, len(windows), batch_size)]
        return np.concatenate(out) if out else np.zeros_like(windows)

    def _windows(self, scaled):
        return series_windows(downsample(scaled, self.downsample), self.window)

    def _scaled_scores(self, scaled, aggregation=None):
        aggregation = self.aggregation if aggregation is None else check_aggregation(aggregation)
        windows = self._windows(scaled)
        errors = (self._reconstruct(windows) - windows)[..., 0] ** 2
        if aggregation == "window":
            errors = errors.mean(axis=1)  # One score per window, spread over its points.
        coarse = point_scores(errors, len(windows) + self.window - 1)
        return upsample(coarse, self.downsample, scaled.size)

    def score(self, series, column=None, fill_missing=None, normalize=None, aggregation=None):
        """Per-point anomaly scores of `series`.

        Args:
            series: a list, NumPy array or pandas Series, or a CSV path with `column=`; at
                least `window` values.
            column: the CSV or DataFrame column holding the values.
            fill_missing: `"interpolate"` to fill gaps (NaN); by default a gap is an error.
            normalize: how the series is standardised before the autoencoder:
                `"checkpoint"` (the detector's stored scaler), `"series"` (a robust scaler
                refitted to `series`: the same scores at any level or in any units) or
                `"local"` (as `"series"`, after a rolling median of `level_window` values is
                taken out: robust to a drifting level too). Default: the detector's
                `normalize` (`"checkpoint"` for the published checkpoints, `"local"` after
                `finetune`).
            aggregation: how window errors become point scores: `"window"` (each window's
                mean error; finds long events) or `"position"` (the error at each point's
                own position; sharper for short spikes). Default: the detector's
                `aggregation`, the one its threshold was chosen with.

        Returns:
            A NumPy array with one score per value of `series`.

        At most 200,000 values per call (see `model_zoo.limits`: `MODEL_ZOO_MAX_SERIES_VALUES`).
        """
        values = as_series(series, column=column, fill_missing=fill_missing)
        limits.check("series_values", values.size, "The series")
        return self._score_values(values, normalize, aggregation)

    def _score_values(self, values, normalize=None, aggregation=None):
        require_length(values, self.span, f"this detector's window of {self.span} values")
        with np.errstate(over="ignore", invalid="ignore"):  # Overflow is reported below.
            scores = self._scaled_scores(self._normalized(values, normalize), aggregation)
        if not np.isfinite(scores).all():
            i = int(np.flatnonzero(~np.isfinite(scores))[0])
            raise InputError(
                "The anomaly scores overflowed: the series' values are too far from the scale "
                f"this detector was trained on (mean {self.scaler.mean:.4g}, std "
                f"{self.scaler.std:.4g}; `normalize=\"series\"` standardises the series "
                f"itself), first at position {i}. Received: {values[i]:.4g}")
        return scores

    def _threshold(self, threshold):
        return self.threshold if threshold is None else limits.finite_number(threshold, "threshold")

    #: `detect` warns when more than this share of the points is flagged.
    warn_fraction = 0.5

    def _warn_if_most_flagged(self, flags, threshold, normalize):
        flagged = int(np.count_nonzero(flags))
        if flags.size and flagged > self.warn_fraction * flags.size:
            mode = self.normalize if normalize is None else normalize
            advice = ("pass `normalize=\"local\"` (or `\"series\"`) to standardise the series "
                      "itself, or fine-tune the detector on normal data of this series"
                      if mode == "checkpoint" else
                      "fine-tune the detector on normal data of this series, or raise "
                      "`threshold`")
            warnings.warn(
                f"{flagged} of {flags.size} points ({flagged / flags.size:.0%}) score above "
                f"the threshold {threshold:.4g}, which most likely means that this series "
                f"differs from the data the detector was trained on (its level, scale or "
                f"shapes) rather than that most of it is anomalous: {advice}.",
                UserWarning, stacklevel=3)

    def detect(self, series, column=None, fill_missing=None, threshold=None, normalize=None,
               aggregation=None):
        """Boolean flags, one per value: `score > threshold` (default: the model's threshold).

        `normalize` and `aggregation` are `score`'s (the model's threshold was chosen with its
        own `aggregation`: with the other, pass a `threshold` of your own). A `UserWarning`
        says so when more than half of the points are flagged: that means a series unlike the
        detector's training data far more often than a series that is mostly anomalous.
        """
        threshold = self._threshold(threshold)
        flags = self.score(series, column=column, fill_missing=fill_missing,
                           normalize=normalize, aggregation=aggregation) > threshold
        self._warn_if_most_flagged(flags, threshold, normalize)
        return flags

    predict = score

    def predict_example(self):
        n = 3 * self.span
        t = np.arange(n, dtype="float64")
        series = self.scaler.unscale(np.sin(2 * np.pi * t / max(self.span // 2, 2)))
        return self.score(series), (n,)

    # -- evaluation ---------------------------------------------------------------------------------

    def evaluate(self, series, labels, start=0, margin=100, normalize=None, aggregation=None):
        """Scores `series`, then compares points `[start:]` with their 0/1 `labels[start:]`.

        `normalize` and `aggregation` are `score`'s (default: the detector's).

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
        scores = self._score_values(values, normalize, aggregation)[start:]
        metrics = anomaly_metrics(labels[start:], scores, self.threshold)
        metrics["ucr_hit"] = ucr_hit(labels[start:], scores, margin)
        return metrics

    # -- fine-tuning -------------------------------------------------------------------------------

    def finetune(self, data, column=None, epochs=30, val_fraction=0.2, batch_size=64,
                 strategy="full", threshold_quantile=None, fill_missing=None, seed=0,
                 verbose=0, test=None, test_labels=None, test_column=None, normalize="local",
                 level_window=None, aggregation="position"):
        """Adapts the detector to a user's anomaly-free series; returns a new `AnomalyDetector`.

        The scaler is refitted on the new series, the autoencoder trains on its first part,
        starting from the published weights, and the threshold is chosen again on the scores
        of the held-out last `val_fraction` of it. By default (`normalize="local"`) the
        series is standardised as the new detector will standardise every series it scores:
        its level (a rolling median) taken out and its own robust scale divided out, so that
        the threshold still holds when a later series drifts to another level.

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
            fill_missing: `"interpolate"` to fill gaps (of `data` and `test`); by default a
                gap is an error.
            seed: random seed of shuffling.
            test: a series with labelled anomalies, never trained on (the same forms as
                `data`; a CSV path or DataFrame reads `test_column`), on which the fine-tuned
                model, the zero-shot model (this network, its scaler and threshold refitted
                to `data` as the fine-tune's are) and an isolation forest (fitted on the
                windows of `data`'s training part) are compared by ROC-AUC
                (`finetune_metrics["comparison"]`). A normal series cannot show how well
                anomalies are found: without `test` there is no comparison, and
                `finetune_metrics["comparison_skipped"]` says so.
            test_labels: one 0/1 label per value of `test` (1: anomalous), at least one of
                each: a list or array, or the name of the label column when `test` is a CSV
                path or DataFrame.
            test_column: the column of `test`'s values in a CSV file or DataFrame (default:
                `column`).
            normalize: the new detector's standardisation, used in training and kept as
                its default (see `score`): `"local"` (default), `"series"`, or
                `"checkpoint"` (the refitted mean and std of `data`'s training part, stored:
                how detectors were fine-tuned before; a later drift of the level moves every
                score).
            level_window: values per rolling median of `"local"` (default: 8 windows'
                spans).
            aggregation: the new detector's point scores (see `score`), its threshold chosen
                with them: `"position"` (default, whatever the parent's: on the series tried,
                Yahoo's spikes and a synthetic ECG, it ranked far better after fine-tuning,
                ROC-AUC 1.000 and 0.54 against 0.78 and 0.18) or `"window"` (long events).
        """
        values = as_series(data, column=column, fill_missing=fill_missing)
        normalization.check_mode(normalize)
        check_aggregation(aggregation)
        if level_window is not None:
            level_window = limits.positive_int(level_window, "level_window")
        if not 0 < val_fraction < 1:
            raise InputError(f"`val_fraction` must be in (0, 1). Received: {val_fraction!r}")
        labelled = self._labelled_test(test, test_labels, test_column or column, fill_missing)
        split = int(round(values.size * (1 - val_fraction)))
        require_length(values[:split], 2 * self.span,
                       f"fine-tuning (two {self.span}-value windows before the held-out "
                       f"last {val_fraction:.0%})")
        require_length(values[split:], self.span,
                       f"choosing a threshold (a {self.span}-value window in the held-out "
                       f"last {val_fraction:.0%})")
        keras.utils.set_random_seed(seed)
        preprocessing = json.loads(json.dumps(self.preprocessing))
        preprocessing.update(scaler=StandardScaler.fit(values[:split]).to_dict(),
                             normalize=normalize, aggregation=aggregation,
                             level_window=level_window or 8 * self.span)
        # The whole normal series, standardised as the new detector scores a series.
        scaled = AnomalyDetector(self.model, preprocessing)._normalized(values)
        train = window_dataset(self._windows(scaled[:split]), batch_size, shuffle=True,
                               seed=seed)
        val = window_dataset(self._windows(scaled[split:]), batch_size)
        model = copy_model(self.model)
        quantile = threshold_quantile or self.preprocessing["threshold_quantile"]
        history = get_strategy(strategy).fit(model, train, val, loss="mse", epochs=epochs,
                                             verbose=verbose)
        tuned = AnomalyDetector(model, preprocessing, self.metadata)
        held_out = tuned._scaled_scores(scaled)[split:]
        preprocessing.update(threshold=threshold_from_scores(held_out, quantile),
                             threshold_quantile=quantile)
        tuned.finetune_metrics = {"train_values": split, "val_values": int(values.size - split),
                                  "threshold": preprocessing["threshold"],
                                  "normalize": normalize,
                                  "val_mse": float(np.mean(held_out)),
                                  "stages": len(history["stages"])}
        if labelled is None:
            tuned.finetune_metrics["comparison_skipped"] = (
                "no labelled test series (test=, test_labels=): the normal series shows no "
                "anomalies to measure the detectors on")
        else:
            self.compare_finetuned(tuned, (values, split), labelled, {
                "rule": "the given labelled test series", "train": split,
                "validation": int(values.size - split), "test": int(labelled[0].size),
                "unit": "values"})
        return tuned

    def _labelled_test(self, test, labels, column, fill_missing):
        """`(values, labels)` of the labelled test series, checked; None without `test`."""
        if test is None:
            if labels is not None:
                raise InputError("`test_labels` label the values of a test series: pass it as "
                                 "`test=`. Received: test=None")
            return None
        if labels is None:
            raise InputError("A test series needs its 0/1 labels (`test_labels=`: a list, or "
                             "the label column of its CSV file). Received: test_labels=None")
        values = as_series(test, column=column, fill_missing=fill_missing)
        if isinstance(labels, str):
            if not isinstance(test, (str, os.PathLike)) and not hasattr(test, "columns"):
                raise InputError("`test_labels` names a column only when `test` is a CSV path "
                                 f"or a DataFrame. Received: test_labels={labels!r}")
            labels = as_series(test, column=labels)
        try:
            labels = np.asarray(labels, dtype="float64")
        except (TypeError, ValueError):
            raise InputError("`test_labels` must be numbers, 0 or 1. Received: "
                             f"{type(labels).__name__}") from None
        if labels.shape != values.shape:
            raise InputError(f"There must be one 0/1 label per value of the test series. "
                             f"Received: {labels.size} labels for {values.size} values")
        if not np.isin(labels, (0, 1)).all():
            bad = labels[~np.isin(labels, (0, 1))][0]
            raise InputError(f"`test_labels` must be 0 (normal) or 1 (anomalous). "
                             f"Received: {float(bad)!r}")
        if not 0 < labels.sum() < labels.size:
            raise InputError("The test labels must mark at least one anomalous (1) and one "
                             "normal (0) value, for ROC-AUC. Received: "
                             f"{int(labels.sum())} anomalous of {labels.size} values")
        require_length(values, self.span, f"the test series (this detector's window of "
                                          f"{self.span} values)")
        return values, labels.astype("int64")

    comparison_metric = "roc_auc"

    def comparison_rows(self, tuned, train, test):
        """`evaluate` on the labelled test series of the fine-tuned model, of this network
        with the fine-tuned scaler and a threshold chosen again on the held-out part of the
        user's series (as the fine-tune chooses its own), and the same metrics of an
        isolation forest fitted on the windows of the training part, its threshold chosen by
        the same rule. All three see the series standardised as the fine-tuned detector
        standardises it (its `normalize`). `train` is `(values, split)`: the user's normal
        series and the end of its training part."""
        from model_zoo.models.anomaly import baselines

        values, split = train
        test_values, test_labels = test
        quantile = tuned.preprocessing["threshold_quantile"]
        scaled = tuned._normalized(values)
        zero_shot = AnomalyDetector(self.model, {
            **self.preprocessing, **{k: tuned.preprocessing[k] for k in (
                "scaler", "normalize", "level_window", "aggregation")
                if k in tuned.preprocessing}})
        zero_shot.preprocessing["threshold"] = threshold_from_scores(
            zero_shot._scaled_scores(scaled)[split:], quantile)
        rows = {"fine-tuned": tuned.evaluate(test_values, test_labels),
                "zero-shot": zero_shot.evaluate(test_values, test_labels)}
        forest = baselines.isolation_forest(tuned._windows(scaled[:split]))
        threshold = threshold_from_scores(
            baselines.forest_scores(forest, scaled, tuned.window, tuned.downsample)[split:],
            quantile)
        scores = baselines.forest_scores(forest, tuned._normalized(test_values), tuned.window,
                                         tuned.downsample)
        rows["baseline"] = {**anomaly_metrics(test_labels, scores, threshold),
                            "ucr_hit": ucr_hit(test_labels, scores)}
        models = {"fine-tuned": f"{self.name} fine-tuned",
                  "zero-shot": f"{self.name}, scaler and threshold refitted to your series",
                  "baseline": f"{baselines.DESCRIPTION}, fitted on your training values"}
        return rows, models, {}

    # -- serving ---------------------------------------------------------------------------------

    serving_signature = {
        "instance": "a series: a list of at least {task.span} numbers, or {{\"series\": [...], "
                    "\"threshold\": t, \"normalize\": \"checkpoint\" | \"series\" | \"local\"}} "
                    "(defaults: threshold {task.threshold:.6g}, normalize {task.normalize!r})",
        "prediction": "{{\"scores\": one anomaly score per value, \"flags\": one boolean per "
                      "value, true where its score is above the threshold, \"threshold\": t}}"}

    def serve_instances(self, instances):
        """`score` of each instance (the verb scores one series), flagged as `detect` does."""
        series, settings = self.serving_instances(
            instances, "series", {"threshold": float, "normalize": str, "aggregation": str})

        def predict(values, threshold=None, normalize=None, aggregation=None):
            threshold = self._threshold(threshold)
            scores = self.score(values, normalize=normalize, aggregation=aggregation)
            return {"scores": scores.tolist(), "flags": (scores > threshold).tolist(),
                    "threshold": threshold}

        return self.each_instance(predict, [self.serving_values(s, k)
                                            for k, s in enumerate(series)], settings)

    # -- command line --------------------------------------------------------------------------------

    def predict_cli(self, args):
        threshold = self._threshold(args.threshold)
        normalize = getattr(args, "normalize", None)
        aggregation = getattr(args, "aggregation", None)
        scores = self.score(args.csv, column=args.column, fill_missing=args.fill_missing,
                            normalize=normalize, aggregation=aggregation)
        flagged = np.flatnonzero(scores > threshold)
        self._warn_if_most_flagged(scores > threshold, threshold, normalize)
        return {"model": self.name, "points": int(scores.size), "threshold": threshold,
                "normalize": normalize or self.normalize,
                "aggregation": aggregation or self.aggregation,
                "flagged": [int(i) for i in flagged],
                "scores": [round(float(s), 6) for s in scores]}

    @classmethod
    def finetune_data_from_cli(cls, args):
        kwargs = {"data": args.csv, "column": args.column, "fill_missing": args.fill_missing}
        for option in ("normalize", "aggregation"):
            if getattr(args, option, None):
                kwargs[option] = getattr(args, option)
        if args.test_csv or args.labels_column:
            if not (args.test_csv and args.labels_column):
                raise InputError("A comparison needs --test-csv FILE with its --labels-column "
                                 "(0/1, 1: anomalous), both. Received: "
                                 f"--test-csv={args.test_csv!r}, "
                                 f"--labels-column={args.labels_column!r}")
            kwargs.update(test=args.test_csv, test_column=args.test_column or args.column,
                          test_labels=args.labels_column)
        return kwargs
