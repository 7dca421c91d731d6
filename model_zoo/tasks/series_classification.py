"""The series-classification task: `load(name).classify(series)`."""

import collections
import json
import os

import keras
import numpy as np

from model_zoo import limits
from model_zoo.data.labelled_series import (
    ChannelScaler,
    SeriesCollection,
    as_collection,
    classification_dataset,
    encode_labels,
    pad_batch,
    read_collection,
    stratified_split,
)
from model_zoo.errors import InputError
from model_zoo.metrics.series_classification import classification_metrics
from model_zoo.models.copying import copy_model
from model_zoo.models.blending import network_of
from model_zoo.models.series_classification import minirocket, neighbours  # custom layers
from model_zoo.models.series_classification import replace_head, with_input_channels
from model_zoo.models.step_functions import inference_function
from model_zoo.tasks.base import Task, register_task
from model_zoo.training.auto_strategy import check_strategy, is_auto
from model_zoo.training.finetune import get_strategy

LOSS = "sparse_categorical_crossentropy"
#: The classical models a fine-tune can pool with the network (`classical_blend`): name ->
#: `fit(x, y, num_classes, pad_value, seed)` returning `(layer, record)`, and what it is.
CLASSICAL_MODELS = {
    "minirocket": (minirocket.fit_minirocket_classifier,
                   "MiniRocket + ridge regression (aeon, scikit-learn)"),
    "neighbours": (neighbours.fit_neighbour_classifier, "1-NN Euclidean as soft votes"),
}
DEFAULT_CLASSICAL_BLEND = "minirocket+neighbours"
# The fewest series of a class a default early-stopping split may hold (see `finetune`).
MIN_VALIDATION_PER_CLASS = 5
#: How far (a share) test series may lie outside the lengths a checkpoint was trained on for
#: its zero-shot predictions to count in a fine-tune's comparison.
LENGTH_TOLERANCE = 0.25


def classical_models(classical_blend):
    """The names in `classical_blend` ("minirocket+neighbours", "minirocket", ...; None,
    False or "none": none), checked against `CLASSICAL_MODELS`."""
    if classical_blend in (None, False, "none"):
        return []
    names = classical_blend.split("+") if isinstance(classical_blend, str) else None
    if not names or any(name not in CLASSICAL_MODELS for name in names) \
            or len(set(names)) != len(names):
        raise InputError(
            "classical_blend must name classical models from "
            f"{sorted(CLASSICAL_MODELS)} joined by '+' (e.g. {DEFAULT_CLASSICAL_BLEND!r}), or "
            f"be 'none'. Received: {classical_blend!r}")
    return names


def _is_number(value):
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


@register_task("series_classification")
class SeriesClassifier(Task):
    """Classifies whole series (uni- or multivariate, any length) into the model's classes.

    Its preprocessing state holds `channels`, `classes` (label strings), the per-channel
    `scaler` fitted on the training series and the `pad_value` the model masks; a fine-tuned
    model's also `lengths`, its shortest and longest training series (see `trained_lengths`).

    A single series is a 1-D sequence (univariate), or a 2-D array `(time, channels)`; a batch
    is a list of such series (lengths may differ), a `(n, time, channels)` array, or a path to
    a `.ts` file or a long-format CSV file.

    The verbs are those of `TextClassifier` too: `classify` gives label strings (one for one
    series), `predict_proba` probabilities with columns in the order of `classes`.

    Example:
    >>> classifier = model_zoo.load("classify_bigru_japanesevowels")
    >>> classifier.classify(utterance)              # (time, 12) array -> '3'
    >>> classifier.classify([u1, u2])               # -> ['3', '7']
    >>> classifier.predict_proba(utterance)         # -> 9 probabilities
    """

    @property
    def channels(self):
        return int(self.preprocessing["channels"])

    @property
    def classes(self):
        return list(self.preprocessing["classes"])

    @property
    def scaler(self):
        return ChannelScaler.from_dict(self.preprocessing["scaler"])

    @property
    def pad_value(self):
        return float(self.preprocessing["pad_value"])

    # -- prediction --------------------------------------------------------------------------

    def _as_input(self, series):
        """`(collection, single)`: the user's input as a checked collection, and whether it was
        one series (so that one answer, not a list, is returned)."""
        collection, single = self._collection(series)
        return self._check_lengths(collection), single

    @staticmethod
    def _check_lengths(collection):
        lengths = np.asarray(collection.lengths)
        longest = int(lengths.argmax())
        limits.check("series_steps", int(lengths[longest]), f"Series {longest + 1}")
        return collection

    def _collection(self, series):
        if isinstance(series, (str, os.PathLike)):
            return as_collection(read_collection(series), self.channels), False
        if isinstance(series, SeriesCollection):
            return as_collection(series, self.channels), False
        if hasattr(series, "to_numpy"):  # pandas Series (univariate) / DataFrame (channels)
            series = series.to_numpy()
        if isinstance(series, np.ndarray):
            if series.ndim in (1, 2):
                return as_collection([series], self.channels), True
            return as_collection(series, self.channels), False
        if isinstance(series, (list, tuple)):
            if not series:
                raise InputError("There are no series to classify. Received: an empty list")
            if _is_number(series[0]):
                return as_collection([series], self.channels), True
            return as_collection(list(series), self.channels), False
        raise InputError(
            "Pass a series (1-D sequence or `(time, channels)` array), a list of series, a "
            f"`(n, time, channels)` array or a .ts/.csv path. Received: {type(series).__name__}"
        )

    def _probabilities(self, collection, batch_size=256):
        scaler = self.scaler
        order = np.argsort(collection.lengths, kind="stable")  # Similar lengths batch together.
        out = np.zeros((len(collection), len(self.classes)))
        for start in range(0, len(order), batch_size):
            index = order[start:start + batch_size]
            x = pad_batch([collection.series[i] for i in index], scaler,
                          pad_value=self.pad_value)
            probs = inference_function(self.model)(x)
            out[index] = keras.ops.convert_to_numpy(probs)
        return out

    def predict_proba(self, series):
        """Class probabilities: `(classes,)` for one series, `(n, classes)` for several.

        The column order is `self.classes`.
        """
        collection, single = self._as_input(series)
        probs = self._probabilities(collection)
        return probs[0] if single else probs

    def classify(self, series):
        """The predicted label of one series, or the list of labels of several.

        At most 2,000 time steps per series (see `model_zoo.limits`:
        `MODEL_ZOO_MAX_SERIES_STEPS`).
        """
        collection, single = self._as_input(series)
        labels = self._labels(collection)
        return labels[0] if single else labels

    def _labels(self, collection):
        return [self.classes[i] for i in self._probabilities(collection).argmax(axis=1)]

    predict = classify

    def predict_example(self):
        rng = np.random.default_rng(0)
        batch = [rng.normal(size=(n, self.channels)) for n in (7, 15, 4)]
        return self.predict_proba(batch), (3, len(self.classes))

    # -- evaluation ----------------------------------------------------------------------------

    def evaluate(self, data, labels=None, limit=None, **csv_options):
        """Accuracy and macro F1 on labelled series (a collection, a .ts/.csv path, or series
        with `labels=`); the first `limit` series only, if given. `csv_options` are those of
        `read_long_csv`."""
        if isinstance(data, (str, os.PathLike)):
            data = read_collection(data, **csv_options)
        collection = data if isinstance(data, SeriesCollection) else \
            self._collection(data)[0]
        collection = as_collection(collection, self.channels, labels)
        if collection.labels is None:
            raise InputError("Evaluation needs labels. Received: unlabelled series")
        if limit:
            collection = collection.subset(range(min(limit, len(collection))))
        encode_labels(collection.labels, self.classes)  # An unknown label is an error.
        predicted = self._labels(collection)
        return classification_metrics(collection.labels, predicted)

    # -- fine-tuning -----------------------------------------------------------------------------

    def finetune(self, data, labels=None, epochs=60, val_fraction=None, batch_size=16,
                 strategy="auto", new_head="auto", refit_scaler=True, seed=0, verbose=0,
                 classical_blend=DEFAULT_CLASSICAL_BLEND,
                 test=None, test_fraction=0.2, **csv_options):
        """Adapts the classifier to the user's labelled series; returns a new `SeriesClassifier`.

        With a new class set the head is replaced by a fresh one (`new_head="auto"`); the
        recurrent layers start from the published weights (or from random weights, when
        `strategy="auto"` finds that better on validation). Series with another number of
        channels than the model's (another set of sensors) get a new input layer: the first
        recurrent layer's input kernels are new, its recurrent weights and every later layer
        start from the published ones (`with_input_channels`; `finetune_metrics["channels"]`).
        Then classical classifiers fitted on the training series, as layers of the model
        (`classical_blend`: MiniRocket + ridge regression and 1-NN Euclidean as soft votes),
        are pooled with the network's probabilities: a log-linear pool whose exponents and
        class biases minimise the log-loss on the validation series, or on auto's choosing
        hold-out (with the chosen candidate as it was before its refit, and classical models
        fitted without those series); the geometric mean without either
        (`model_zoo.models.blending`).

        Args:
            data: a `.ts` file or long-format CSV path (see
                `model_zoo.data.labelled_series.read_long_csv`), a `SeriesCollection`, or a
                list of series with `labels=`.
            labels: one label per series when `data` is a list of series.
            epochs: total epochs over all stages.
            val_fraction: fraction of each class of the training part held out for early
                stopping (none when a class has fewer than 2 series). Default: 0.2 when
                `test` is given or `test_fraction=0`, else none: the held-out test part
                already takes `test_fraction`, and a small set cannot spare both; and none
                either when 0.2 would hold out fewer than `MIN_VALIDATION_PER_CLASS` (5)
                series of some class (on ArrowHead, 36 training series, 7 validation series
                stopped every strategy after about 15 of 60 epochs, at chance accuracy).
            batch_size: series per batch.
            strategy: `"auto"` (default) trains every candidate, gradual unfreezing
                (`"gradual_unfreezing"`: the head first, then the recurrent layers from the
                top), `"full"` and the same architecture from random weights (`"random"`),
                and keeps the one with the best accuracy on the validation series (a tie goes
                to the earlier one; the test part is never looked at); so it takes about three
                times as long as one strategy. Without a validation split (the default when
                a test part is held out) it holds out 20% of each class of the training part
                only to choose (each candidate trained as the final model is: every epoch, no
                early stopping), then trains the winner again on every training series (four
                trainings); when a class has too few series even for that, it trains
                `"gradual_unfreezing"`. The scores and the choice are in
                `finetune_metrics["strategy"]`. Or one strategy: `"gradual_unfreezing"`,
                `"full"`, or a strategy object.
            new_head: `"auto"` (a new head iff the label set differs from the model's),
                True or False.
            refit_scaler: fit the per-channel scaler on the new training series (always, for
                new channels).
            seed: random seed of the splits, shuffling, dropout and the new head.
            test: labelled series never trained on (a path, a `SeriesCollection`, or
                `(series, labels)`), on which the fine-tuned model, the zero-shot model (when
                its classes are the fine-tuned ones) and 1-NN Euclidean (fitted on the training
                part) are compared (`finetune_metrics["comparison"]`); by default
                `test_fraction` of each class is held out of `data` first (0: no comparison).
            classical_blend: the classical models pooled with the network, names from
                `CLASSICAL_MODELS` joined by "+": `"minirocket+neighbours"` (default),
                `"minirocket"` or `"neighbours"`
                (`model_zoo.models.series_classification.minirocket`, `.neighbours`); the
                fitted pool and each model's fit are in `finetune_metrics["classical_blend"]`.
                None (or "none"): the network alone.
            **csv_options: `id_column`, `label_column`, `time_column`, `value_columns` of a
                long-format CSV.
        """
        from model_zoo.comparison import check_fraction

        check_strategy(strategy)
        classical_names = classical_models(classical_blend)
        test_fraction = check_fraction(test_fraction)
        if val_fraction is not None:
            val_fraction = check_fraction(val_fraction, "val_fraction")
        collection = self._labelled_collection(data, labels, csv_options, channels=None)
        channels = collection.channels  # Other channels than the model's: a new input layer.
        held_out = None
        if test is not None:
            test_data, test_labels = test if isinstance(test, tuple) else (test, None)
            held_out = self._labelled_collection(test_data, test_labels, csv_options, channels)
            rule = "the given test series"
        elif test_fraction and collection.labels is not None:
            keep, held = stratified_split(collection.labels, test_fraction, seed)
            if held is not None:
                collection, held_out = collection.subset(keep), collection.subset(held)
                rule = f"{test_fraction:.0%} of each class, stratified (seed {seed})"
        if val_fraction is None:
            val_fraction = 0.2 if held_out is None or test is not None else 0.0
            smallest = min(collections.Counter(collection.labels.tolist()).values()) \
                if collection.labels is not None else 0
            if smallest * val_fraction < MIN_VALIDATION_PER_CLASS:
                val_fraction = 0.0  # Too few to stop on: training would stop on noise.
        if collection.labels is None:
            raise InputError(
                "Fine-tuning needs a label per series (a `label` column, labels in the .ts "
                "file, or `labels=`). Received: unlabelled series"
            )
        classes = sorted(set(collection.labels.tolist()))
        if len(classes) < 2:
            raise InputError(f"Fine-tuning needs at least two classes. Received: {classes}")
        if new_head == "auto":
            new_head = classes != sorted(self.classes)
        if not new_head:
            classes = self.classes
        if held_out is not None:  # Checked before training: the model can only say `classes`.
            if held_out.labels is None:
                raise InputError("The test series need a label each, as the training series "
                                 "do. Received: unlabelled test series")
            encode_labels(held_out.labels, classes)
        y = encode_labels(collection.labels, classes)
        train_idx, val_idx = stratified_split(y, val_fraction, seed)
        preprocessing = json.loads(json.dumps(self.preprocessing))
        new_channels = channels != self.channels
        scaler = (ChannelScaler.fit(collection.subset(train_idx))
                  if refit_scaler or new_channels else self.scaler)
        lengths = collection.lengths  # What the tuned model knows (see `trained_lengths`).
        preprocessing.update(classes=classes, scaler=scaler.to_dict(), channels=int(channels),
                             lengths=[int(lengths.min()), int(lengths.max())])
        x = pad_batch(collection.series, scaler, pad_value=self.pad_value)

        def fitter(train_idx, val_idx, stop_early=True):
            def fit(start, strategy):  # One candidate: `start`'s network on `train_idx`.
                keras.utils.set_random_seed(seed)
                train = classification_dataset(x[train_idx], y[train_idx], batch_size,
                                               shuffle=True, seed=seed)
                val = None if val_idx is None or not stop_early else classification_dataset(
                    x[val_idx], y[val_idx], batch_size)
                network = network_of(start.model)  # a blended model's network: blended anew
                model = with_input_channels(network, channels) if new_channels else network
                if new_head:
                    model = replace_head(model, len(classes), seed=seed)
                elif not new_channels:
                    model = copy_model(model)
                history = get_strategy(strategy).fit(model, train, val, loss=LOSS,
                                                     epochs=epochs, metrics=["accuracy"],
                                                     verbose=verbose)
                tuned = SeriesClassifier(model, preprocessing, self.metadata)
                metrics = {"classes": classes, "new_head": bool(new_head),
                           "channels": {"model": self.channels, "data": int(channels),
                                        "new_input_layer": bool(new_channels)},
                           "train_series": int(len(train_idx)),
                           "val_series": 0 if val_idx is None else int(len(val_idx)),
                           "stages": len(history["stages"])}
                if val_idx is not None:
                    metrics["val_accuracy"] = tuned.evaluate(
                        collection.subset(val_idx))["accuracy"]
                tuned.finetune_metrics = metrics
                return tuned

            return fit

        # Without a validation split, auto chooses on 20% of each class of the training part,
        # trained as the final model will be (all epochs, no early stopping), and then trains
        # the winner again on all of it.
        fit, refit, n_choose = fitter(train_idx, val_idx), None, val_idx
        if val_idx is None and is_auto(strategy):
            inner_train, inner_val = stratified_split(y[train_idx], 0.2, seed)
            if inner_val is not None:
                fit = fitter(train_idx[inner_train], train_idx[inner_val], stop_early=False)
                refit, n_choose = fitter(train_idx, None), inner_val
        n_choose = None if n_choose is None else len(n_choose)
        tuned = self.finetune_with_strategy(
            strategy, fit,
            (lambda t: t.finetune_metrics["val_accuracy"]) if n_choose else None,
            metric="val_accuracy", higher_is_better=True, refit=refit, seed=seed,
            on=(f"{n_choose} validation series" + (
                " (20% of each class of the training part, held out only to choose; the "
                "winner was then trained again on all the training series)" if refit else "")))
        if classical_names:
            width = int(collection.lengths[train_idx].max())  # the baseline's length
            pool_on = None
            if val_idx is not None and len(val_idx) > 0:  # the classical models, as they are
                pool_on = (tuned, None, None, x[val_idx], y[val_idx])
            elif getattr(tuned, "refit_from", None) is not None:  # auto's choosing hold-out
                fit_idx, on_idx = train_idx[inner_train], train_idx[inner_val]
                pool_on = (tuned.refit_from, x[fit_idx][:, :width], y[fit_idx], x[on_idx],
                           y[on_idx])
            tuned = tuned.with_classical_blend(x[train_idx][:, :width], y[train_idx], pool_on,
                                               classical_names, seed=seed)
        metrics = tuned.finetune_metrics
        if held_out is not None:
            self.compare_finetuned(tuned, collection, held_out, {
                "rule": rule, "train": metrics["train_series"],
                "validation": metrics["val_series"], "test": len(held_out),
                "unit": "series"})
        return tuned

    def with_classical_blend(self, x, y, pool_on=None, names=("minirocket", "neighbours"),
                             seed=0):
        """This classifier with the classical models `names` (see `CLASSICAL_MODELS`) fitted
        on the training series `x` (scaled and padded as its input) and label indices `y`,
        as layers, pooled with its probabilities by a log-linear blend
        (`model_zoo.models.blending.fit_log_linear_pool`) fitted on held-out series:
        `pool_on = (classifier, fit_x, fit_y, val_x, val_y)`, a classifier whose network never
        saw `val_x` (this one, or the candidate `strategy="auto"` chose before training it
        again on every series) and the series to fit the classical models on for it (None:
        the ones on `x`, `y`); or a list of such parts (cross-validation folds: the pool is
        fitted on all their held-out series); without any, the geometric mean. The record is
        in `finetune_metrics["classical_blend"]`."""
        from model_zoo.models import blending

        def fit_all(x, y):
            return [CLASSICAL_MODELS[name][0](x, y, len(self.classes), self.pad_value,
                                              seed=seed) for name in names]

        fitted = fit_all(x, y)
        layers = [layer for layer, _ in fitted]
        what = " and ".join(f"{CLASSICAL_MODELS[name][1]} on the {len(x)} training series"
                            for name in names)
        network = classical = labels = None
        parts = [] if pool_on is None else pool_on if isinstance(pool_on, list) else [pool_on]
        if parts:
            network, classical, labels = [], [[] for _ in names], []
            for source, fit_x, fit_y, val_x, val_y in parts:
                held_out = layers if fit_x is None else [
                    layer for layer, _ in fit_all(fit_x, fit_y)]
                network.append(keras.ops.convert_to_numpy(source.model(val_x,
                                                                       training=False)))
                for probabilities, layer in zip(classical, held_out):
                    probabilities.append(keras.ops.convert_to_numpy(layer(val_x)))
                labels.append(np.asarray(val_y))
            network, labels = np.concatenate(network), np.concatenate(labels)
            classical = [np.concatenate(p) for p in classical]
        several = len(names) > 1
        blend, record = blending.fit_log_linear_pool(
            network, classical if several or classical is None else classical[0],
            [] if labels is None else labels, what, names=list(names) if several else None)
        if len(parts) > 1:
            record["fitted_on"] = (f"the held-out series of {len(parts)} cross-validation "
                                   "folds: networks and classical models trained without them")
        elif parts and parts[0][1] is not None:
            record["fitted_on"] = ("the chosen candidate before its refit, and classical "
                                   f"models on its {len(parts[0][1])} training series")
        tuned = SeriesClassifier(blending.blended_model(self.model, layers, blend),
                                 self.preprocessing, self.metadata)
        tuned.finetune_metrics = {
            **getattr(self, "finetune_metrics", {}),
            "classical_blend": {**record, "models": list(names),
                                **{name: fit for name, (_, fit) in zip(names, fitted)}}}
        return tuned

    def _labelled_collection(self, data, labels, csv_options, channels):
        """The user's labelled series, of `channels` channels (None: any, all alike)."""
        if isinstance(data, (str, os.PathLike)):
            return as_collection(read_collection(data, **csv_options), channels)
        return as_collection(data, channels, labels)

    comparison_metric = "accuracy"

    @property
    def trained_lengths(self):
        """`(shortest, longest)` series this model was trained on, or None where unrecorded:
        from the preprocessing state (`lengths`, written by `finetune`), else from the
        checkpoint's metadata (`dataset.split.length`, written by the recipe)."""
        lengths = self.preprocessing.get("lengths")
        if lengths is None:
            dataset = getattr(self.metadata, "dataset", None) or {}
            lengths = (dataset.get("split") or {}).get("length")
        if (isinstance(lengths, (list, tuple)) and len(lengths) == 2
                and all(_is_number(n) and n > 0 for n in lengths)):
            return int(lengths[0]), int(lengths[1])
        return None

    def zero_shot_mismatch(self, tuned, test):
        """Why this model's own predictions on `test` would not mean anything (its row is then
        left out of the comparison), or None when they do.

        Equal label strings alone do not make the same task (UCR sets name their classes "1",
        "2", ...): the zero-shot row also needs the fine-tuned model's channels and test series
        no further than `LENGTH_TOLERANCE` outside the lengths this model was trained on
        (`trained_lengths`; where those are unrecorded, classes and channels decide).
        """
        if sorted(tuned.classes) != sorted(self.classes):
            return f"its classes {self.classes} are not the fine-tuned {tuned.classes}"
        if tuned.channels != self.channels:
            return f"it reads {self.channels} channel(s), the fine-tuned model {tuned.channels}"
        trained = self.trained_lengths
        if trained is None:
            return None
        low, high = trained[0] * (1 - LENGTH_TOLERANCE), trained[1] * (1 + LENGTH_TOLERANCE)
        lengths = np.asarray(test.lengths)
        outside = int(((lengths < low) | (lengths > high)).sum())
        if outside:
            def span(a, b):
                return f"{a}" if a == b else f"{a}-{b}"

            return (f"its classes have the same names, but it was trained on series of "
                    f"{span(*trained)} steps and {outside} of the {len(lengths)} test series "
                    f"have {span(int(lengths.min()), int(lengths.max()))} steps: another task")
        return None

    def comparison_rows(self, tuned, train, test):
        """`evaluate` on the held-out series of the fine-tuned model, of this model where its
        predictions mean something there (`zero_shot_mismatch`), and of the two baselines,
        1-NN Euclidean and MiniRocket, fitted on all the series the fine-tune saw (training
        and validation), scaled with the fine-tuned model's scaler; the stronger decides."""
        from model_zoo.models.series_classification import baselines

        rows = {"fine-tuned": tuned.evaluate(test)}
        models = {"fine-tuned": f"{self.name} fine-tuned"}
        skipped = {}
        why_not = self.zero_shot_mismatch(tuned, test)
        if why_not is None:
            rows["zero-shot"] = self.evaluate(test)
            models["zero-shot"] = self.name
        else:
            skipped["zero-shot"] = why_not
        for row, baseline, about in (
                ("baseline", baselines.NearestNeighbourEuclidean, baselines.DESCRIPTION),
                ("baseline (MiniRocket)", baselines.MiniRocket,
                 baselines.MINIROCKET_DESCRIPTION)):
            predicted = baseline(tuned.scaler).fit(train).predict(test)
            rows[row] = classification_metrics(test.labels, predicted)
            models[row] = about
        return rows, models, skipped

    # -- serving ---------------------------------------------------------------------------------

    serving_signature = {
        "instance": "a series: a list of numbers (one channel) or of rows of {task.channels} "
                    "numbers (one row per time step), any length",
        "prediction": "{{\"label\": one of {task.classes}, \"probabilities\": {{label: "
                      "probability}}}}"}

    def serve_instances(self, instances):
        """`predict_proba` of all the instances in one call."""
        series = [self.serving_values(x, k, rows=True) for k, x in enumerate(instances)]
        classes = self.classes
        return [{"label": classes[int(np.argmax(p))],
                 "probabilities": {c: float(v) for c, v in zip(classes, p)}}
                for p in self.predict_proba(series)]

    # -- command line --------------------------------------------------------------------------

    @staticmethod
    def _csv_options(args):
        columns = args.value_columns.split(",") if args.value_columns else None
        return {"id_column": args.id_column, "label_column": args.label_column,
                "time_column": args.time_column, "value_columns": columns}

    def predict_cli(self, args):
        collection = read_collection(args.input, **self._csv_options(args))
        collection = self._check_lengths(as_collection(collection, self.channels))
        probs = self._probabilities(collection)
        rows = [{"id": sid, "label": self.classes[int(p.argmax())],
                 "probability": round(float(p.max()), 6)}
                for sid, p in zip(collection.ids, probs)]
        result = {"model": self.name, "series": len(rows), "predictions": rows}
        if collection.labels is not None and set(collection.labels) <= set(self.classes):
            result["metrics"] = classification_metrics(collection.labels,
                                                       [r["label"] for r in rows])
        return result

    @classmethod
    def finetune_data_from_cli(cls, args):
        kwargs = {"data": args.input, **cls._csv_options(args),
                  "classical_blend": args.classical_blend}
        if args.test_fraction is not None:
            kwargs["test_fraction"] = args.test_fraction
        return kwargs
